import BatonCore
import BatonSystem

extension S3Store {
    /// Uploads a large file in parts with bounded memory (`partsInFlight`
    /// parts of `partSize` bytes at most), and aborts the upload on any
    /// failure so no orphaned parts are left behind. Returns the object's
    /// ETag ("" when the completion did not name it).
    func multipartUpload(_ key: String, file: LocalFile, size: Int64) async throws -> String {
        let objectKey = configuration.objectKey(key)
        let created = try await send(
            S3Request(method: "POST", objectKey: objectKey, query: [("uploads", "")], kind: "multipart"))
        guard let uploadID = S3XML.value("UploadId", in: String(decoding: created.body, as: UTF8.self)) else {
            throw BatonError(.io, "\(displayURL)/\(key): the server started a multipart upload without an UploadId")
        }
        do {
            let partSize = Int64(configuration.partSize)
            let partCount = Int((size + partSize - 1) / partSize)
            var etags = [String](repeating: "", count: partCount)
            var next = 0
            while next < partCount {
                let batch = next..<min(partCount, next + configuration.partsInFlight)
                try await withThrowingTaskGroup(of: (Int, String).self) { group in
                    for index in batch {
                        let bytes = try file.read(at: Int64(index) * partSize, count: Int(partSize))
                        group.addTask {
                            let response = try await self.send(
                                S3Request(
                                    method: "PUT", objectKey: objectKey,
                                    query: [("partNumber", "\(index + 1)"), ("uploadId", uploadID)],
                                    body: .bytes(bytes),
                                    kind: "multipart"))
                            guard let etag = response.headers["etag"] else {
                                throw BatonError(
                                    .io, "\(self.displayURL)/\(key): part \(index + 1) was stored without an ETag")
                            }
                            return (index, etag)
                        }
                    }
                    for try await (index, etag) in group { etags[index] = etag }
                }
                next = batch.upperBound
            }
            var body = "<CompleteMultipartUpload>"
            for (index, etag) in etags.enumerated() {
                body += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(S3XML.escape(etag))</ETag></Part>"
            }
            body += "</CompleteMultipartUpload>"
            let completed = try await send(
                S3Request(
                    method: "POST", objectKey: objectKey, query: [("uploadId", uploadID)],
                    body: .bytes(Array(body.utf8)),
                    kind: "multipart"))
            // S3 can answer 200 with an error in the body.
            let answer = String(decoding: completed.body, as: UTF8.self)
            if S3XML.value("Code", in: answer) != nil {
                throw BatonError(.io, "\(displayURL)/\(key): completing the multipart upload failed")
            }
            return (S3XML.value("ETag", in: answer) ?? "").replacingQuotes()
        } catch {
            _ = try? await send(
                S3Request(method: "DELETE", objectKey: objectKey, query: [("uploadId", uploadID)], kind: "multipart"))
            throw error
        }
    }
}
