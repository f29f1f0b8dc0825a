import Crypto

/// AWS Signature Version 4 for S3 requests, written from the AWS
/// specification ("Create a signed AWS API request"): canonical request,
/// string to sign, derived signing key, Authorization header.
///
/// Pure: the caller passes the time (`amzDate`, `yyyyMMdd'T'HHmmss'Z'`) and
/// every header to sign, including `host` and `x-amz-date`.
public struct SigV4Signer: Sendable {
    /// The access key pair (and session token, for temporary credentials).
    public struct Credentials: Sendable, Equatable {
        /// AWS_ACCESS_KEY_ID.
        public var accessKeyID: String
        /// AWS_SECRET_ACCESS_KEY.
        public var secretAccessKey: String
        /// AWS_SESSION_TOKEN, sent as `x-amz-security-token`.
        public var sessionToken: String?

        /// Credentials from their parts.
        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    /// What signing produced.
    public struct Signature: Sendable, Equatable {
        /// The `Authorization` header value.
        public var authorization: String
        /// The canonical request (for debugging mismatches).
        public var canonicalRequest: String
        /// `;`-joined lowercase names of the signed headers.
        public var signedHeaders: String
    }

    /// The credentials.
    public let credentials: Credentials
    /// The region, e.g. `us-east-1`.
    public let region: String
    /// The service, `s3` for S3.
    public let service: String

    /// A signer for one region and service.
    public init(credentials: Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// SHA-256 of `bytes` as lowercase hex (the payload hash).
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        hex(Array(SHA256.hash(data: bytes)))
    }

    /// SHA-256 of the empty payload.
    public static let emptyPayloadHash = sha256Hex([])

    /// Signs a request. `canonicalPath` is the already URI-encoded path as sent
    /// on the wire (S3 paths are not normalized); `query` holds raw (unencoded)
    /// names and values.
    public func sign(
        method: String, canonicalPath: String, query: [(String, String)], headers: [(String, String)],
        payloadHash: String, amzDate: String
    ) -> Signature {
        var encodedQuery: [(name: String, value: String)] = []
        for (name, value) in query {
            encodedQuery.append(
                (SigV4Signer.uriEncode(name, encodeSlash: true), SigV4Signer.uriEncode(value, encodeSlash: true)))
        }
        encodedQuery.sort { lhs, rhs in lhs.name == rhs.name ? lhs.value < rhs.value : lhs.name < rhs.name }
        let canonicalQuery = encodedQuery.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            merged[name.lowercased(), default: []].append(SigV4Signer.trimmed(value))
        }
        let names = merged.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash]
            .joined(separator: "\n")
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, SigV4Signer.sha256Hex(Array(canonicalRequest.utf8)),
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = SigV4Signer.hex(
            Array(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)))
        return Signature(
            authorization:
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)",
            canonicalRequest: canonicalRequest, signedHeaders: signedHeaders)
    }

    /// Percent-encodes everything but the unreserved characters
    /// (`A-Z a-z 0-9 - _ . ~`), and `/` unless `encodeSlash`.
    public static func uriEncode(_ text: String, encodeSlash: Bool) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where !encodeSlash:
                result.append("/")
            default:
                let digits = Array("0123456789ABCDEF")
                result.append("%")
                result.append(digits[Int(byte >> 4)])
                result.append(digits[Int(byte & 0x0F)])
            }
        }
        return result
    }

    /// Header value with outer spaces removed and inner runs of spaces collapsed.
    static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            .trimmingCharacters(in: "\t")
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var view = Substring(self)
        while view.first == set { view.removeFirst() }
        while view.last == set { view.removeLast() }
        return String(view)
    }
}
