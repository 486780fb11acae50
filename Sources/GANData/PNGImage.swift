import CZlib
import Foundation

/// A decoded PNG image: 8-bit samples in planar CHW order (all of channel 0, then channel 1, ...).
///
/// The reader handles every non-interlaced PNG of the standard: colour types grey (1 channel),
/// grey + alpha (2), RGB (3), RGBA (4) and palette (expanded to RGB, or RGBA when the file has a
/// `tRNS` chunk); bit depths 1, 2, 4 (grey: scaled to 0...255; palette: indices), 8 and 16 (the
/// high byte is kept); all five scanline filters; IDAT data split over any number of chunks.
/// Every chunk's CRC is checked. Interlaced (Adam7) files are refused with a message saying so.
/// Errors are one-line `DataError`s naming the file.
public struct PNGImage: Equatable, Sendable {
    /// 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
    public var channels: Int
    public var height: Int
    public var width: Int
    /// `channels · height · width` bytes, CHW.
    public var bytes: [UInt8]

    public init(channels: Int, height: Int, width: Int, bytes: [UInt8]) {
        precondition(channels >= 1 && channels <= 4 && height >= 1 && width >= 1 && bytes.count == channels * height * width,
                     "PNGImage: \(bytes.count) bytes for [\(channels), \(height), \(width)]")
        self.channels = channels
        self.height = height
        self.width = width
        self.bytes = bytes
    }

    public var shape: [Int] { [channels, height, width] }
    public var hasAlpha: Bool { channels == 2 || channels == 4 }

    /// The image without its alpha channel (grey + alpha -> grey, RGBA -> RGB); unchanged otherwise.
    /// In CHW order the alpha plane is the last one, so this drops the last plane.
    public func droppingAlpha() -> PNGImage {
        guard hasAlpha else { return self }
        return PNGImage(channels: channels - 1, height: height, width: width,
                        bytes: Array(bytes[0..<((channels - 1) * height * width)]))
    }

    /// "grey 28x28", "RGB 32x32", ... (width x height).
    public var summary: String { "\(Self.channelName(channels)) \(width)x\(height)" }

    static func channelName(_ c: Int) -> String {
        switch c {
        case 1: "grey"
        case 2: "grey+alpha"
        case 3: "RGB"
        default: "RGBA"
        }
    }

    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Decoded images above this many bytes (filtered scanlines or output) are refused rather than
    /// allocated: 1 GiB.
    public static let maxBytes = 1 << 30

    /// Reads and decodes the PNG file at `path`.
    public static func read(_ path: String) throws -> PNGImage {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw DataError(path, "no such file") }
        guard !isDir.boolValue else { throw DataError(path, "is a directory, expected a PNG file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError(path, "cannot open for reading") }
        return try decode([UInt8](data), name: path)
    }

    /// Decodes PNG file bytes; `name` is used in error messages.
    public static func decode(_ file: [UInt8], name: String) throws -> PNGImage {
        func fail(_ message: String) -> DataError { DataError(name, message) }
        guard file.count >= 8, Array(file[0..<8]) == signature else {
            if file.count < 8, Array(signature[0..<file.count]) == file {
                throw fail("truncated PNG: \(file.count) bytes, shorter than the 8-byte signature")
            }
            throw fail("not a PNG file: the first bytes are not the PNG signature 89 50 4E 47 0D 0A 1A 0A")
        }

        var header: Header?
        var palette: [UInt8] = []
        var transparency: [UInt8]?
        var idat: [UInt8] = []
        var sawIEND = false
        var o = 8
        while o < file.count {
            guard o + 8 <= file.count else {
                throw fail("truncated PNG: a chunk header at byte \(o) is cut off (the file ends at byte \(file.count))")
            }
            let length = Int(be32(file, o))
            guard length <= Int(Int32.max) else { throw fail("corrupt PNG: chunk at byte \(o) declares length \(length)") }
            let typeBytes = Array(file[(o + 4)..<(o + 8)])
            guard typeBytes.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
                throw fail("corrupt PNG: invalid chunk type at byte \(o)")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard o + 12 + length <= file.count else {
                throw fail("truncated PNG: the \(type) chunk at byte \(o) needs \(12 + length) bytes, the file has \(file.count - o) left")
            }
            let stored = be32(file, o + 8 + length)
            let computed = file.withUnsafeBufferPointer { p in
                UInt32(truncatingIfNeeded: crc32(0, p.baseAddress! + o + 4, uInt(4 + length)))
            }
            guard stored == computed else { throw fail("corrupt PNG: CRC mismatch in the \(type) chunk at byte \(o)") }
            let body = (o + 8)..<(o + 8 + length)
            o += 12 + length

            if header == nil && type != "IHDR" { throw fail("corrupt PNG: the first chunk is \(type), expected IHDR") }
            switch type {
            case "IHDR":
                guard header == nil else { throw fail("corrupt PNG: a second IHDR chunk") }
                header = try Header(Array(file[body]), fail: fail)
            case "PLTE":
                guard length % 3 == 0, length >= 3, length <= 768 else {
                    throw fail("corrupt PNG: PLTE chunk of \(length) bytes, expected 3 to 768 and a multiple of 3")
                }
                palette = Array(file[body])
            case "tRNS":
                transparency = Array(file[body])
            case "IDAT":
                idat.append(contentsOf: file[body])
            case "IEND":
                sawIEND = true
            default:
                // Ancillary chunks (lower-case first letter) carry nothing the pixels need.
                if (0x41...0x5A).contains(typeBytes[0]) {
                    throw fail("unsupported PNG: unknown critical chunk \(type)")
                }
            }
            if sawIEND { break }
        }
        guard let h = header else { throw fail("truncated PNG: no IHDR chunk") }
        guard sawIEND else { throw fail("truncated PNG: the file ends before the IEND chunk") }
        guard !idat.isEmpty else { throw fail("corrupt PNG: no image data (IDAT chunk)") }
        guard idat.count <= Int(UInt32.max) else { throw fail("unsupported PNG: more than 4 GiB of compressed image data") }
        if h.colorType == 3 && palette.isEmpty { throw fail("corrupt PNG: a palette image without a PLTE chunk") }

        // Filtered scanlines: one filter byte + rowBytes per row.
        let rowBytes = (h.width * h.bitsPerPixel + 7) / 8
        let (lines, o1) = (rowBytes + 1).multipliedReportingOverflow(by: h.height)
        let outChannels = h.colorType == 3 ? (transparency == nil ? 3 : 4) : h.samplesPerPixel
        let (pixels, o2) = (h.width * outChannels).multipliedReportingOverflow(by: h.height)
        guard !o1, !o2, lines <= maxBytes, pixels <= maxBytes else {
            throw fail("unsupported PNG: \(h.width)x\(h.height) is larger than this reader accepts (\(maxBytes) bytes)")
        }
        var raw = try inflate(idat, expected: lines, fail: fail)
        try unfilter(&raw, rowBytes: rowBytes, height: h.height, bytesPerPixel: max(1, h.bitsPerPixel / 8), fail: fail)
        let out = try expand(raw, h, rowBytes: rowBytes, outChannels: outChannels, palette: palette, transparency: transparency, fail: fail)
        return PNGImage(channels: outChannels, height: h.height, width: h.width, bytes: out)
    }

    // MARK: - Pieces

    struct Header {
        var width: Int, height: Int, bitDepth: Int, colorType: Int

        init(_ d: [UInt8], fail: (String) -> DataError) throws {
            guard d.count == 13 else { throw fail("corrupt PNG: IHDR chunk of \(d.count) bytes, expected 13") }
            width = Int(be32(d, 0))
            height = Int(be32(d, 4))
            bitDepth = Int(d[8])
            colorType = Int(d[9])
            guard width >= 1, height >= 1, width <= Int(Int32.max), height <= Int(Int32.max) else {
                throw fail("corrupt PNG: image size \(width)x\(height)")
            }
            let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
            guard let depths = allowed[colorType] else { throw fail("unsupported PNG: colour type \(colorType) (expected 0, 2, 3, 4 or 6)") }
            guard depths.contains(bitDepth) else {
                throw fail("unsupported PNG: bit depth \(bitDepth) with colour type \(colorType) (allowed: \(depths.map(String.init).joined(separator: ", ")))")
            }
            guard d[10] == 0 else { throw fail("unsupported PNG: compression method \(d[10]) (expected 0)") }
            guard d[11] == 0 else { throw fail("unsupported PNG: filter method \(d[11]) (expected 0)") }
            if d[12] == 1 { throw fail("unsupported PNG: interlaced (Adam7) images are not supported; save it without interlacing") }
            guard d[12] == 0 else { throw fail("corrupt PNG: interlace method \(d[12])") }
        }

        /// Samples per pixel as stored (palette: one index).
        var samplesPerPixel: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType]! }
        var bitsPerPixel: Int { samplesPerPixel * bitDepth }
    }

    static func be32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
    }

    /// Inflates the zlib stream into exactly `expected` bytes. Data beyond what the image needs is
    /// ignored (as libpng does); too little is an error. The output grows as zlib produces it
    /// (doubling, up to `expected`), so a header that declares a huge image over a few bytes of
    /// IDAT costs what those bytes inflate to, not what the header says.
    static func inflate(_ input: [UInt8], expected: Int, fail: (String) -> DataError) throws -> [UInt8] {
        var out = [UInt8]()
        var stream = z_stream()
        guard inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("cannot decode PNG: zlib initialisation failed")
        }
        defer { inflateEnd(&stream) }
        var input = input
        var status: Int32 = Z_OK
        var message = ""
        var produced = 0
        input.withUnsafeMutableBufferPointer { src in
            stream.next_in = src.baseAddress
            stream.avail_in = uInt(src.count)
            while produced < expected {
                if produced == out.count {
                    out.append(contentsOf: repeatElement(0, count: min(max(out.count, 1 << 16), expected - out.count)))
                }
                out.withUnsafeMutableBufferPointer { dst in
                    stream.next_out = dst.baseAddress! + produced
                    stream.avail_out = uInt(dst.count - produced)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    produced = dst.count - Int(stream.avail_out)
                }
                if status != Z_OK || stream.avail_in == 0 { break }
            }
            if let m = stream.msg { message = String(cString: m) }
        }
        switch status {
        case Z_OK, Z_STREAM_END, Z_BUF_ERROR: break
        case Z_NEED_DICT: throw fail("corrupt PNG: the compressed image data asks for a preset dictionary")
        default: throw fail("corrupt PNG: bad compressed image data\(message.isEmpty ? "" : " (\(message))")")
        }
        guard produced == expected else {
            throw fail("truncated PNG: the image data decompresses to \(produced) bytes, \(expected) needed")
        }
        return out
    }

    /// Reverses the scanline filters in place (each row: filter byte then `rowBytes` bytes).
    static func unfilter(_ raw: inout [UInt8], rowBytes: Int, height: Int, bytesPerPixel bpp: Int, fail: (String) -> DataError) throws {
        let stride = rowBytes + 1
        try raw.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress!
            for y in 0..<height {
                let filter = p[y * stride]
                let row = p + y * stride + 1
                let prev: UnsafeMutablePointer<UInt8>? = y > 0 ? p + (y - 1) * stride + 1 : nil
                switch filter {
                case 0:
                    break
                case 1:  // Sub
                    if rowBytes > bpp { for i in bpp..<rowBytes { row[i] &+= row[i - bpp] } }
                case 2:  // Up
                    if let prev { for i in 0..<rowBytes { row[i] &+= prev[i] } }
                case 3:  // Average
                    for i in 0..<rowBytes {
                        let a = i >= bpp ? Int(row[i - bpp]) : 0
                        let b = prev.map { Int($0[i]) } ?? 0
                        row[i] &+= UInt8((a + b) >> 1)
                    }
                case 4:  // Paeth
                    for i in 0..<rowBytes {
                        let a = i >= bpp ? Int(row[i - bpp]) : 0
                        let b = prev.map { Int($0[i]) } ?? 0
                        let c = (i >= bpp ? prev.map { Int($0[i - bpp]) } : nil) ?? 0
                        let pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c)
                        let predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                        row[i] &+= UInt8(predictor)
                    }
                default:
                    throw fail("corrupt PNG: row \(y) has filter type \(filter) (expected 0 to 4)")
                }
            }
        }
    }

    /// Unfiltered scanlines -> CHW bytes of `outChannels` 8-bit channels.
    static func expand(_ raw: [UInt8], _ h: Header, rowBytes: Int, outChannels: Int, palette: [UInt8], transparency: [UInt8]?,
                       fail: (String) -> DataError) throws -> [UInt8] {
        let w = h.width, plane = h.width * h.height, stride = rowBytes + 1
        var out = [UInt8](repeating: 0, count: plane * outChannels)
        let spp = h.samplesPerPixel, depth = h.bitDepth
        try raw.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                func lookUp(_ index: Int, x: Int, y: Int) throws {
                    guard index * 3 + 2 < palette.count else {
                        throw fail("corrupt PNG: pixel (\(x), \(y)) uses palette entry \(index), the palette has \(palette.count / 3)")
                    }
                    let o = y * w + x
                    dst[o] = palette[index * 3]
                    dst[plane + o] = palette[index * 3 + 1]
                    dst[2 * plane + o] = palette[index * 3 + 2]
                    if let transparency { dst[3 * plane + o] = index < transparency.count ? transparency[index] : 255 }
                }

                for y in 0..<h.height {
                    let row = src.baseAddress! + y * stride + 1
                    let o = y * w
                    if depth < 8 {
                        let mask = (1 << depth) - 1
                        for x in 0..<w {
                            let bit = x * depth
                            let v = Int(row[bit >> 3]) >> (8 - depth - (bit & 7)) & mask
                            if h.colorType == 3 {
                                try lookUp(v, x: x, y: y)
                            } else {
                                dst[o + x] = UInt8(v * 255 / mask)
                            }
                        }
                    } else {
                        let step = depth / 8  // 16-bit samples: keep the high (first) byte
                        for x in 0..<w {
                            if h.colorType == 3 {
                                try lookUp(Int(row[x]), x: x, y: y)
                            } else {
                                for c in 0..<spp { dst[c * plane + o + x] = row[(x * spp + c) * step] }
                            }
                        }
                    }
                }

            }
        }
        return out
    }
}

/// A folder of PNG files read as one uint8 array `[N, C, H, W]`.
public struct PNGFolder: Sendable {
    /// The files read, in order (full paths).
    public var files: [String]
    /// `[N, C, H, W]`, C 1 (grey) or 3 (RGB).
    public var shape: [Int]
    public var bytes: [UInt8]

    public var count: Int { shape[0] }
    public var channels: Int { shape[1] }
    public var height: Int { shape[2] }
    public var width: Int { shape[3] }

    /// Reads every `*.png` (any case) regular file of `directory` in sorted name order; hidden
    /// files (names starting with ".") and other files are skipped. The images must all have the
    /// same size and channel count; an alpha channel is dropped (grey + alpha reads as grey, RGBA
    /// and palette with transparency as RGB). Errors name the offending file.
    public static func read(_ directory: String) throws -> PNGFolder {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else { throw DataError(directory, "no such directory") }
        guard isDir.boolValue else { throw DataError(directory, "not a directory") }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            let reason = (error as NSError).localizedDescription.split(whereSeparator: \.isNewline).first.map(String.init) ?? "unknown error"
            throw DataError(directory, "cannot list the directory: \(reason)")
        }
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let files = names.filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".png") }.sorted().map { "\(base)/\($0)" }
            .filter { path in
                var d: ObjCBool = false
                return FileManager.default.fileExists(atPath: path, isDirectory: &d) && !d.boolValue
            }
        guard let first = files.first else { throw DataError(directory, "no .png files in the directory") }
        let image0 = try PNGImage.read(first).droppingAlpha()
        let per = image0.bytes.count
        let (total, overflow) = per.multipliedReportingOverflow(by: files.count)
        guard !overflow, total <= PNGImage.maxBytes else {
            throw DataError(directory, "\(files.count) images of \(image0.summary) are more than this reader accepts (\(PNGImage.maxBytes) bytes)")
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(total)
        bytes += image0.bytes
        for path in files.dropFirst() {
            let image = try PNGImage.read(path).droppingAlpha()
            guard image.shape == image0.shape else {
                throw DataError(path, "\(image.summary) (shape \(image.shape)), but \((first as NSString).lastPathComponent) is \(image0.summary) (shape \(image0.shape)); the images of a folder must all have one size and channel count")
            }
            bytes += image.bytes
        }
        return PNGFolder(files: files, shape: [files.count] + image0.shape, bytes: bytes)
    }
}

extension PNGFolder {
    /// A labelled image folder: one subfolder per class, classes in sorted name order (label 0 the
    /// first), each read with `read(_:)` (so all images of all classes must share one size).
    /// Returns nil when `directory` has no (non-hidden) subfolder; a folder with both subfolders
    /// and top-level PNG files is an error (which are the data?).
    public static func readClasses(_ directory: String) throws -> (folder: PNGFolder, labels: [UInt8], classNames: [String])? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let classes = names.filter { name in
            var d: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: "\(base)/\(name)", isDirectory: &d) && d.boolValue
        }.sorted()
        guard !classes.isEmpty else { return nil }
        if names.contains(where: { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".png") }) {
            throw DataError(directory, "has both PNG files and subfolders: put every image in its class's subfolder (one subfolder per class)")
        }
        guard classes.count <= 256 else { throw DataError(directory, "\(classes.count) class subfolders; at most 256 classes are supported") }
        var files: [String] = [], bytes: [UInt8] = [], labels: [UInt8] = []
        var shape: [Int]?
        for (label, name) in classes.enumerated() {
            let f = try read("\(base)/\(name)")
            if let s = shape, Array(f.shape.dropFirst()) != s {
                throw DataError(f.files[0], "images of class \(name) have shape \(Array(f.shape.dropFirst())), those of \(classes[0]) \(s); every class must have one image size")
            }
            shape = Array(f.shape.dropFirst())
            guard bytes.count + f.bytes.count <= PNGImage.maxBytes else {
                throw DataError(directory, "the class folders hold more than this reader accepts (\(PNGImage.maxBytes) bytes)")
            }
            files += f.files
            bytes += f.bytes
            labels += [UInt8](repeating: UInt8(label), count: f.count)
        }
        return (PNGFolder(files: files, shape: [files.count] + (shape ?? []), bytes: bytes), labels, classes)
    }
}
