import Foundation
import Testing

@testable import BatonStore

/// Cross-checks Baton's signer against botocore's (the AWS SDK for Python)
/// on randomized S3 requests: keys with spaces, unicode and reserved
/// characters, query strings, bodies, session tokens. The test S3 server
/// does not verify signatures, so this and the AWS vectors are the proof.
@Suite struct SigV4BotocoreTests {
    struct Spec: Codable {
        var method: String
        var host: String
        var bucket: String
        var key: String
        var query: [[String]]
        var headers: [[String]]
        var bodyHex: String
        var amzDate: String
        var accessKey: String
        var secretKey: String
        var sessionToken: String?
        var region: String
    }

    struct Signed: Codable {
        var authorization: String
        var path: String
    }

    static let keyAlphabet = Array("abcXYZ019 -_.~/!$&'()*+,;=:@%ééあ😀[]{}^`|\\\"<>#?")

    func randomSpec(_ rng: inout SystemRandomNumberGenerator) -> Spec {
        let key = String(
            (0..<Int.random(in: 1...24, using: &rng)).map { _ in Self.keyAlphabet.randomElement(using: &rng)! })
        var query: [[String]] = []
        for index in 0..<Int.random(in: 0...3, using: &rng) {
            let value = String(
                (0..<Int.random(in: 0...8, using: &rng)).map { _ in Self.keyAlphabet.randomElement(using: &rng)! })
            query.append(["p\(index)\(["", "-x", " y", "é"].randomElement(using: &rng)!)", value])
        }
        let body = (0..<[0, 0, 5, 300].randomElement(using: &rng)!).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let bodyHex = body.map { String(format: "%02x", $0) }.joined()
        let day = Int.random(in: 1...28, using: &rng)
        let amzDate = String(format: "202611%02dT%02d%02d%02dZ", day, Int.random(in: 0...23, using: &rng), 7, 9)
        var headers = [
            ["X-Amz-Content-SHA256", SigV4Signer.sha256Hex(body)], ["X-Amz-Date", amzDate],
        ]
        if Bool.random(using: &rng) { headers.append(["If-None-Match", "*"]) }
        if Bool.random(using: &rng) { headers.append(["Range", "bytes=0-\(Int.random(in: 1...999, using: &rng))"]) }
        let token: String? =
            Bool.random(using: &rng) ? "FwoGZXIvYXdzE+token/\(Int.random(in: 0...999, using: &rng))==" : nil
        if let token { headers.append(["X-Amz-Security-Token", token]) }
        return Spec(
            method: ["GET", "PUT", "DELETE", "POST", "HEAD"].randomElement(using: &rng)!, host: "127.0.0.1:9000",
            bucket: "bucket-\(Int.random(in: 1...9, using: &rng))", key: key, query: query, headers: headers,
            bodyHex: bodyHex, amzDate: amzDate, accessKey: "AKIA\(Int.random(in: 1000...9999, using: &rng))",
            secretKey: "secret/+\(Int.random(in: 0...99999, using: &rng))", sessionToken: token,
            region: ["us-east-1", "eu-west-3", "auto"].randomElement(using: &rng)!)
    }

    @Test func matchesBotocoreOnRandomRequests() throws {
        var rng = SystemRandomNumberGenerator()
        let specs = (0..<300).map { _ in randomSpec(&rng) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("integration/sigv4_botocore.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(try JSONEncoder().encode(specs))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "botocore helper failed (is botocore installed?)")
        let expected = try JSONDecoder().decode([Signed].self, from: data)
        try #require(expected.count == specs.count)

        for (spec, botocore) in zip(specs, expected) {
            let signer = SigV4Signer(
                credentials: .init(
                    accessKeyID: spec.accessKey, secretAccessKey: spec.secretKey, sessionToken: spec.sessionToken),
                region: spec.region)
            let path = "/\(spec.bucket)/" + SigV4Signer.uriEncode(spec.key, encodeSlash: false)
            #expect(path == botocore.path, "path encoding of \(spec.key)")
            let headers = [("Host", spec.host)] + spec.headers.map { ($0[0], $0[1]) }
            let signature = signer.sign(
                method: spec.method, canonicalPath: path, query: spec.query.map { ($0[0], $0[1]) }, headers: headers,
                payloadHash: spec.headers[0][1], amzDate: spec.amzDate)
            #expect(signature.authorization == botocore.authorization, "\(spec.method) \(spec.key) \(spec.query)")
        }
    }
}
