import BatonCore
import BatonStore
import BatonSystem

/// The LTX files a replica holds, read from the store's listing and,
/// when asked, from each file's header.
public enum ReplicaCatalog {
    /// Every LTX file under `ltx/`; with `headers`, timestamps and epochs come
    /// from the files themselves (one small ranged read each, `width` in
    /// flight, none for a file whose header this process has read before).
    public static func files(in store: any ObjectStore, headers: Bool, width: Int = headerReadWidth) async throws
        -> [LTXFileInfo]
    {
        var files: [LTXFileInfo] = []
        var etags: [String: String] = [:]
        for object in try await store.list(prefix: "ltx/") {
            guard let info = LTXFileInfo(key: object.key, size: object.size) else { continue }
            files.append(info)
            etags[info.key] = object.etag
        }
        files.sort()
        // A full listing: what the store no longer holds need not be remembered.
        let cache = ReplicaHeaderCache.shared
        cache.retain(store: store.displayURL, keys: Set(etags.keys))
        guard headers else { return files }
        let unknown = files.lazy.filter { file in
            etags[file.key].map { cache.entry(store: store.displayURL, key: file.key, etag: $0) == nil } ?? true
        }.prefix(PublishedHeaders.worthReading).count
        if unknown >= PublishedHeaders.worthReading {
            // Only a cache: a store without segments (or refusing them) costs the header reads below.
            try? await PublishedHeaders.load(from: store, etags: etags)
        }
        return try await withHeaders(files, in: store, etags: etags, width: width)
    }

    /// The files a restore of the newest state would consider (`newest`),
    /// without those a deposed holder uploaded after a newer epoch had
    /// started. What a new holder continues from: a late upload of a deposed
    /// holder may end past the live history, and is not the store's position.
    public static func liveFiles(in store: any ObjectStore) async throws -> [LTXFileInfo] {
        try await newest(in: store).live
    }

    /// How many header reads a listing has in flight at once.
    public static let headerReadWidth = 16

    /// `files` with their timestamps and epochs read from each file's header
    /// (`width` reads in flight: thousands of files are common). A file whose
    /// ETag is in `etags` is answered from `ReplicaHeaderCache.shared` when
    /// its header was read before, and remembered there when not.
    public static func withHeaders(
        _ files: [LTXFileInfo], in store: any ObjectStore, etags: [String: String] = [:],
        width: Int = headerReadWidth
    ) async throws -> [LTXFileInfo] {
        let cache = ReplicaHeaderCache.shared
        let storeName = store.displayURL
        return try await BoundedConcurrency.map(files, width: width) { file in
            var file = file
            let etag = etags[file.key]
            if let etag, let known = cache.entry(store: storeName, key: file.key, etag: etag) {
                file.timestampMilliseconds = known.timestampMilliseconds
                file.epoch = known.epoch
                return file
            }
            let header = try await header(of: file, in: store)
            file.timestampMilliseconds = header.timestampMilliseconds
            file.epoch = header.nodeID
            if let etag {
                cache.remember(
                    .init(timestampMilliseconds: header.timestampMilliseconds, epoch: header.nodeID),
                    store: storeName, key: file.key, etag: etag)
            }
            return file
        }
    }

    /// The databases of a group stored under `store`: each name whose
    /// prefix holds LTX files (`<name>/ltx/...`), with those files (no headers read).
    public static func databases(in store: any ObjectStore) async throws -> [String: [LTXFileInfo]] {
        var found: [String: [LTXFileInfo]] = [:]
        for object in try await store.list(prefix: "") {
            let parts = object.key.split(separator: "/", maxSplits: 1)
            guard parts.count == 2, parts[0] != "ltx",
                let info = LTXFileInfo(key: String(parts[1]), size: object.size)
            else { continue }
            found[String(parts[0]), default: []].append(info)
        }
        return found.mapValues { $0.sorted() }
    }

    /// The header of one file.
    public static func header(of file: LTXFileInfo, in store: any ObjectStore) async throws -> LTXHeader {
        let bytes = try await store.get(file.key, range: 0..<Int64(LTXHeader.size))
        do {
            return try LTXHeader(decoding: bytes)
        } catch let error as BatonError {
            throw BatonError(error.code, "\(store.displayURL)/\(file.key): \(error.message)")
        }
    }

    /// The trailer of one file (its last 16 bytes).
    public static func trailer(of file: LTXFileInfo, in store: any ObjectStore) async throws -> LTXTrailer {
        guard file.size >= Int64(LTXHeader.size + LTXTrailer.size) else {
            throw BatonError(.corrupt, "\(store.displayURL)/\(file.key) is too short to be an LTX file")
        }
        let bytes = try await store.getTail(file.key, count: LTXTrailer.size, storedSize: file.size)
        return LTXTrailer(postApplyChecksum: BigEndian.uint64(bytes, 0), fileChecksum: BigEndian.uint64(bytes, 8))
    }
}
