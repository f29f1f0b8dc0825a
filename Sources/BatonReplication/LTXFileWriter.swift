import BatonCore

/// Writes one LTX file to a new local path, buffered and fsynced.
enum LTXFileWriter {
    /// Encodes `header`, the pages `pages` writes, and a trailer with
    /// `postApply()` (read after the pages, so it may depend on them).
    @discardableResult
    static func write(
        to path: String, header: LTXHeader, pages: (inout LTXEncoder) throws -> Void, postApply: () -> UInt64
    ) throws -> LTXTrailer {
        let writer = try BufferedFileWriter(creating: path)
        var encoder = try LTXEncoder(header: header) { try writer.write($0) }
        try pages(&encoder)
        let trailer = try encoder.finish(postApplyChecksum: postApply())
        try writer.finish()
        return trailer
    }
}
