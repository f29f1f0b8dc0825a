import BatonCore
import BatonSystem

/// The newest copy of each page, kept in a local file: used to merge LTX
/// files without holding their pages in memory.
final class PageSpool {
    private let file: LocalFile
    private var end: Int64 = 0
    private var latest: [UInt32: Int64] = [:]
    let pageSize: UInt32

    init(path: String, pageSize: UInt32) throws {
        try? FileSystem.remove(path)
        file = try LocalFile(path, .readWrite)
        try FileSystem.remove(path)  // anonymous: gone when closed
        self.pageSize = pageSize
    }

    func put(_ pageNumber: UInt32, _ data: [UInt8]) throws {
        try file.write(data, at: end)
        latest[pageNumber] = end
        end += Int64(data.count)
    }

    /// Forgets pages past a database size (a shrink).
    func drop(above pageCount: UInt32) {
        latest = latest.filter { $0.key <= pageCount }
    }

    func contains(_ pageNumber: UInt32) -> Bool { latest[pageNumber] != nil }

    var pageNumbers: [UInt32] { latest.keys.sorted() }

    func page(_ pageNumber: UInt32) throws -> [UInt8] {
        guard let offset = latest[pageNumber] else { return [UInt8](repeating: 0, count: Int(pageSize)) }
        return try file.read(at: offset, count: Int(pageSize))
    }
}
