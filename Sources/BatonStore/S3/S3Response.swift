/// One HTTP response from the S3 endpoint.
struct S3Response: Sendable {
    /// HTTP status code.
    var status: Int
    /// Header values by lowercase name.
    var headers: [String: String]
    /// The body.
    var body: [UInt8]

    /// The `<Code>` of an S3 error body, if any.
    var errorCode: String? { S3XML.value("Code", in: String(decoding: body, as: UTF8.self)) }

    /// The `<Message>` of an S3 error body, if any.
    var errorMessage: String? { S3XML.value("Message", in: String(decoding: body, as: UTF8.self)) }

    /// The ETag without quotes.
    var etag: String? { headers["etag"].map { $0.replacingQuotes() } }
}

extension String {
    /// The text without surrounding double quotes (S3 quotes ETags).
    func replacingQuotes() -> String {
        var view = Substring(self)
        if view.hasPrefix("\"") { view.removeFirst() }
        if view.hasSuffix("\"") { view.removeLast() }
        return String(view)
    }
}
