import CMPI
import CPlatform
import Foundation

/// An error of the MPI layer, printed as one line.
public struct MPIError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The processes of one MPI job (`MPI_COMM_WORLD`): this process's rank, the number of ranks,
/// and the few collectives data-parallel training needs. Started only when a launcher (mpirun,
/// srun --mpi=pmix) started the process: `Communicator.world()` is nil otherwise, and MPI is never
/// initialised, so a plain run is exactly the single process it always was.
///
/// Errors are returned, not fatal (`MPI_ERRORS_RETURN`), and thrown as `MPIError`. A rank that
/// dies makes the launcher stop the whole job (Open MPI's default), naming the rank.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    let comm: MPI_Comm

    /// Whether a launcher started this process as one rank of an MPI job: Open MPI's mpirun sets
    /// `OMPI_COMM_WORLD_SIZE`; PMIx and PMI launchers (Slurm's `srun --mpi=pmix`) set
    /// `PMIX_RANK` / `PMI_RANK`.
    public static var isLaunchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["PMI_RANK"] != nil
    }

    nonisolated(unsafe) private static var started: Communicator?

    /// The job's communicator, initialising MPI on first use; nil when no launcher started the
    /// process. If cross-memory attach (the shared-memory transport's single-copy mechanism) is
    /// blocked, as in some containers, and the user did not choose a mechanism, Open MPI is told
    /// to copy through shared memory instead, before it starts.
    public static func world() throws -> Communicator? {
        if let started { return started }
        guard isLaunchedByMPI else { return nil }
        let variable = "OMPI_MCA_btl_vader_single_copy_mechanism"
        if ProcessInfo.processInfo.environment[variable] == nil, platform_cma_works() == 0 {
            setenv(variable, "none", 1)
        }
        var provided: Int32 = 0
        let rc = MPI_Init_thread(nil, nil, cmpi_thread_serialized(), &provided)
        guard rc == cmpi_success() else { throw MPIError("MPI_Init_thread failed (\(rc))") }
        let world = cmpi_comm_world()!
        MPI_Comm_set_errhandler(world, cmpi_errors_return())
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(world, &rank)
        MPI_Comm_size(world, &size)
        let c = Communicator(comm: world, rank: Int(rank), size: Int(size))
        started = c
        return c
    }

    init(comm: MPI_Comm, rank: Int, size: Int) {
        self.comm = comm
        self.rank = rank
        self.size = size
    }

    public var isRoot: Bool { rank == 0 }

    /// Ends MPI (every rank must call it before exiting normally).
    public func finalize() {
        MPI_Finalize()
        Self.started = nil
    }

    /// Stops every rank of the job with `code` (for errors some ranks cannot know about).
    public func abort(_ code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }

    func check(_ rc: Int32, _ what: String) throws {
        guard rc != cmpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(rc, &text, &length)
        let message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw MPIError("rank \(rank): \(what) failed: \(message)")
    }

    public func barrier() throws {
        try check(MPI_Barrier(comm), "MPI_Barrier")
    }

    /// Every rank's `count` bytes at `send`, rank by rank, into `receive` (`size · count` bytes).
    public func allgather(_ send: UnsafeRawPointer, count: Int, into receive: UnsafeMutableRawPointer) throws {
        try check(MPI_Allgather(send, Int32(count), cmpi_byte(), receive, Int32(count), cmpi_byte(), comm), "MPI_Allgather")
    }

    /// Every rank's value, indexed by rank.
    public func allgather<T: BitwiseCopyable>(_ value: T) throws -> [T] {
        var mine = value
        return try [T](unsafeUninitializedCapacity: size) { buffer, initialized in
            try withUnsafeBytes(of: &mine) { try allgather($0.baseAddress!, count: MemoryLayout<T>.stride, into: UnsafeMutableRawPointer(buffer.baseAddress!)) }
            initialized = size
        }
    }

    /// Every rank's bytes (any length), indexed by rank.
    public func allgather(bytes: [UInt8]) throws -> [[UInt8]] {
        let lengths = try allgather(Int64(bytes.count)).map(Int.init)
        let displacements = lengths.reduce(into: [0]) { $0.append($0.last! + $1) }
        var all = [UInt8](repeating: 0, count: displacements.last!)
        let counts32 = lengths.map(Int32.init), displacements32 = displacements.dropLast().map(Int32.init)
        try bytes.withUnsafeBytes { send in
            try all.withUnsafeMutableBytes { receive in
                try check(MPI_Allgatherv(send.baseAddress, Int32(bytes.count), cmpi_byte(), receive.baseAddress,
                                         counts32, displacements32, cmpi_byte(), comm), "MPI_Allgatherv")
            }
        }
        return (0..<size).map { Array(all[displacements[$0]..<displacements[$0 + 1]]) }
    }

    /// Rank `root`'s bytes on every rank (`count` bytes at `buffer`).
    public func broadcast(_ buffer: UnsafeMutableRawPointer, count: Int, root: Int = 0) throws {
        try check(MPI_Bcast(buffer, Int32(count), cmpi_byte(), Int32(root), comm), "MPI_Bcast")
    }

    /// Rank `root`'s value on every rank.
    public func broadcast<T: BitwiseCopyable>(_ value: T, root: Int = 0) throws -> T {
        var v = value
        try withUnsafeMutableBytes(of: &v) { try broadcast($0.baseAddress!, count: MemoryLayout<T>.stride, root: root) }
        return v
    }

    /// Rank `root`'s bytes (any length) on every rank.
    public func broadcast(bytes: [UInt8], root: Int = 0) throws -> [UInt8] {
        let count = Int(try broadcast(Int64(bytes.count), root: root))
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try broadcast($0.baseAddress!, count: count, root: root) }
        return out
    }

    /// Float32 all-to-all with per-rank counts and displacements (in elements).
    public func alltoallv(_ send: UnsafePointer<Float>, counts: [Int32], displacements: [Int32],
                          into receive: UnsafeMutablePointer<Float>, receiveCounts: [Int32], receiveDisplacements: [Int32]) throws {
        try check(MPI_Alltoallv(send, counts, displacements, cmpi_float(), receive, receiveCounts, receiveDisplacements,
                                cmpi_float(), comm), "MPI_Alltoallv")
    }

    /// Float32 all-gather with per-rank counts and displacements (in elements); rank r's part is
    /// taken from (and lands at) `displacements[r]` of `buffer`, in place.
    public func allgatherv(inPlace buffer: UnsafeMutablePointer<Float>, counts: [Int32], displacements: [Int32]) throws {
        try check(MPI_Allgatherv(cmpi_in_place(), 0, cmpi_float(), buffer, counts, displacements, cmpi_float(), comm),
                  "MPI_Allgatherv")
    }
}
