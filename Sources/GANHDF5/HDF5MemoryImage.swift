import CHDF5
import Foundation

/// The memory in which HDF5's core driver builds a file being written (`HDF5File.create`,
/// `open(writable: true)`), allocated through HDF5's file-image callbacks so that the buffer
/// outlives `H5Fclose`: when the driver frees it at close, it is kept here instead, with exactly
/// the bytes the sec2 driver would have left on disk (the close has truncated it to the file's
/// end of allocation). `HDF5File.close()` then writes it with plain POSIX calls.
///
/// The driver's increment is one byte (it asks for the exact size on every extension) and the
/// buffer grows geometrically here, so building a file costs amortised O(1) copies per byte.
/// HDF5 serializes all calls with its global lock, and one instance serves one file.
final class HDF5MemoryImage {
    private var base: UnsafeMutableRawPointer?
    /// The driver's view: the bytes it asked for last.
    private var size = 0
    private var capacity = 0
    /// Set when the driver has closed the file.
    private(set) var isClosed = false

    deinit { free(base) }

    /// The closed file's bytes (valid until the instance is released).
    var closedImage: UnsafeRawBufferPointer? {
        guard isClosed else { return nil }
        return UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Puts the core driver (no backing store) with this buffer on `fapl`.
    func install(on fapl: hid_t, _ ctx: H5Context) throws {
        try ctx.check(H5Pset_fapl_core(fapl, 1, false), "H5Pset_fapl_core")
        var callbacks = H5FD_file_image_callbacks_t()
        callbacks.image_malloc = { size, _, udata in
            HDF5MemoryImage.from(udata).resize(nil, to: size)
        }
        callbacks.image_memcpy = { dest, src, count, _, _ in
            guard let dest, let src else { return dest }
            return memcpy(dest, src, count)
        }
        callbacks.image_realloc = { pointer, size, _, udata in
            HDF5MemoryImage.from(udata).resize(pointer, to: size)
        }
        callbacks.image_free = { pointer, op, udata in
            HDF5MemoryImage.from(udata).release(pointer, closing: op == H5FD_FILE_IMAGE_OP_FILE_CLOSE)
            return 0
        }
        // HDF5 copies the property list's udata with these; the instance is owned by its HDF5File.
        callbacks.udata_copy = { $0 }
        callbacks.udata_free = { _ in 0 }
        callbacks.udata = Unmanaged.passUnretained(self).toOpaque()
        try ctx.check(H5Pset_file_image_callbacks(fapl, &callbacks), "H5Pset_file_image_callbacks")
    }

    private static func from(_ udata: UnsafeMutableRawPointer?) -> HDF5MemoryImage {
        Unmanaged<HDF5MemoryImage>.fromOpaque(udata!).takeUnretainedValue()
    }

    /// The driver's malloc and realloc: one buffer, grown to at least twice its size when full.
    private func resize(_ pointer: UnsafeMutableRawPointer?, to newSize: Int) -> UnsafeMutableRawPointer? {
        precondition(pointer == nil || pointer == base, "HDF5MemoryImage: a buffer it did not allocate")
        if newSize > capacity {
            let grown = max(newSize, 2 * capacity, 4096)
            guard let p = realloc(base, grown) else { return nil }
            base = p
            capacity = grown
        }
        size = newSize
        return base
    }

    private func release(_ pointer: UnsafeMutableRawPointer?, closing: Bool) {
        guard pointer != nil, pointer == base else { return }
        if closing {
            isClosed = true
        } else {
            free(base)
            base = nil
            size = 0
            capacity = 0
        }
    }
}
