import Testing

@testable import BatonStore

/// Published AWS vectors: the generic SigV4 test suite (service "service",
/// 2015-08-30) and the S3 developer guide's signed GET example.
@Suite struct SigV4SignerTests {
    let suite = SigV4Signer(
        credentials: .init(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")

    @Test func getVanilla() {
        let signature = suite.sign(
            method: "GET", canonicalPath: "/", query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Signer.emptyPayloadHash, amzDate: "20150830T123600Z")
        #expect(
            signature.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, "
                + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func getVanillaQueryOrderKeyCase() {
        let signature = suite.sign(
            method: "GET", canonicalPath: "/", query: [("Param2", "value2"), ("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Signer.emptyPayloadHash, amzDate: "20150830T123600Z")
        #expect(signature.authorization.hasSuffix("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"))
        #expect(signature.canonicalRequest.split(separator: "\n")[2] == "Param1=value1&Param2=value2")
    }

    @Test func s3GetObjectWithRange() {
        let signer = SigV4Signer(
            credentials: .init(
                accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1")
        let signature = signer.sign(
            method: "GET", canonicalPath: "/test.txt", query: [],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash), ("x-amz-date", "20130524T000000Z"),
            ],
            payloadHash: SigV4Signer.emptyPayloadHash, amzDate: "20130524T000000Z")
        #expect(
            signature.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func uriEncodingFollowsTheSpecification() {
        #expect(SigV4Signer.uriEncode("a b/c~d_e-f.g", encodeSlash: false) == "a%20b/c~d_e-f.g")
        #expect(SigV4Signer.uriEncode("a/b", encodeSlash: true) == "a%2Fb")
        #expect(SigV4Signer.uriEncode("€+=&", encodeSlash: true) == "%E2%82%AC%2B%3D%26")
    }

    @Test func headerValuesAreTrimmedAndCollapsed() {
        let signature = suite.sign(
            method: "GET", canonicalPath: "/", query: [],
            headers: [("My-Header1", "  value1  a   b "), ("Host", "h"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Signer.emptyPayloadHash, amzDate: "20150830T123600Z")
        #expect(signature.canonicalRequest.contains("my-header1:value1 a b\n"))
    }

    @Test func retryBackoffGrowsAndIsCapped() {
        let policy = RetryPolicy()
        #expect(policy.delayMilliseconds(retry: 1, random: 0.999) < 100)
        #expect(policy.delayMilliseconds(retry: 3, random: 0.999) >= 390)
        #expect(policy.delayMilliseconds(retry: 30, random: 0.999) <= 5000)
        #expect(RetryPolicy.isRetryable(status: 503) && RetryPolicy.isRetryable(status: 429))
        #expect(!RetryPolicy.isRetryable(status: 400) && !RetryPolicy.isRetryable(status: 412))
    }

    @Test func xmlValuesAreDecoded() {
        let xml = "<R><Contents><Key>a&amp;b &lt;c&gt; &#x20AC;</Key></Contents><Contents><Key>d</Key></Contents></R>"
        #expect(S3XML.values("Key", in: xml) == ["a&b <c> €", "d"])
    }
}
