import AsyncHTTPClient
import BatonCore
import BatonSystem
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

extension S3Store {
    /// Signs and sends `request`, retrying transport failures, 5xx and 429
    /// with backoff. Maps 404 to `notFound`, 412 to `preconditionFailed`
    /// (or `S3AmbiguousPreconditionFailure` when `conditional` and an
    /// earlier attempt may have succeeded), 401/403 to a credentials message.
    func send(_ request: S3Request, conditional: Bool = false) async throws -> S3Response {
        var ambiguous = false
        var attempt = 0
        while true {
            attempt += 1
            let outcome: Result<S3Response, Error>
            do {
                outcome = .success(try await sendOnce(request))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let response) where (200...299).contains(response.status):
                metrics.record(request.kind, "ok", up: Int64(request.bodySize), down: Int64(response.body.count))
                return response
            case .success(let response) where RetryPolicy.isRetryable(status: response.status):
                metrics.record(request.kind, "retry")
                ambiguous = ambiguous || request.method != "GET"
                guard attempt < configuration.retry.maxAttempts else {
                    throw BatonError(
                        .io, "\(displayURL): \(request.kind) failed after \(attempt) attempts: \(describe(response))")
                }
            case .success(let response):
                throw finalError(request, response, ambiguous: ambiguous && conditional)
            case .failure(let error):
                // A cancelled task (fencing, shutdown) stops at once: nothing is retried for it.
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                metrics.record(request.kind, "retry")
                ambiguous = ambiguous || request.method != "GET"
                guard attempt < configuration.retry.maxAttempts else {
                    throw BatonError(
                        .io,
                        "\(displayURL): \(request.kind) failed after \(attempt) attempts: \(describeTransport(error))")
                }
            }
            let delay = configuration.retry.delayMilliseconds(retry: attempt, random: Double.random(in: 0..<1))
            try await Task.sleep(nanoseconds: UInt64(delay) * 1_000_000)
        }
    }

    private func finalError(_ request: S3Request, _ response: S3Response, ambiguous: Bool) -> Error {
        let target = request.objectKey.map { "\(displayURL)/\(relative($0))" } ?? displayURL
        switch response.status {
        case 404:
            metrics.record(request.kind, "not_found")
            if response.errorCode == "NoSuchBucket" {
                return BatonError(.notFound, "\(displayURL): bucket \(configuration.bucket) does not exist")
            }
            return BatonError(.notFound, "\(target) does not exist")
        case 412:
            metrics.record(request.kind, "precondition_failed")
            let error = BatonError(.preconditionFailed, "\(target) changed since it was read (412)")
            return ambiguous ? S3AmbiguousPreconditionFailure(underlying: error) : error
        case 416:
            metrics.record(request.kind, "ok")
            return S3RangeNotSatisfiable(target: target)
        case 401, 403:
            metrics.record(request.kind, "error")
            return BatonError(
                .usage,
                "\(displayURL): access denied (\(response.status) \(response.errorCode ?? "")); "
                    + "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket policy")
        default:
            metrics.record(request.kind, "error")
            return BatonError(.io, "\(target): \(request.kind) failed: \(describe(response))")
        }
    }

    private func relative(_ objectKey: String) -> String {
        configuration.prefix.isEmpty ? objectKey : String(objectKey.dropFirst(configuration.prefix.count + 1))
    }

    private func describe(_ response: S3Response) -> String {
        var text = "HTTP \(response.status)"
        if let code = response.errorCode { text += " \(code)" }
        if let message = response.errorMessage { text += ": \(message)" }
        return text
    }

    private func describeTransport(_ error: Error) -> String {
        let seconds = DurationText.format(Int64(configuration.requestTimeoutSeconds * 1000))
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .deadlineExceeded: return "no answer from \(configuration.host) within \(seconds)"
            case .connectTimeout: return "cannot connect to \(configuration.host) (timed out)"
            case .remoteConnectionClosed: return "connection to \(configuration.host) lost"
            default: return "\(error) (\(configuration.host))"
            }
        }
        if error is Deadline.Exceeded { return "no complete answer from \(configuration.host) within 4 × \(seconds)" }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED {
            return "cannot connect to \(configuration.host) (connection refused)"
        }
        if error is NIOConnectionError || error is ChannelError {
            return "cannot connect to \(configuration.host)"
        }
        return "\(error) (\(configuration.host))"
    }

    private func sendOnce(_ request: S3Request) async throws -> S3Response {
        let path = configuration.path(forObjectKey: request.objectKey)
        let payload: [UInt8]
        switch request.body {
        case .none: payload = []
        case .bytes(let bytes): payload = bytes
        }
        let payloadHash = SigV4Signer.sha256Hex(payload)
        let amzDate = S3Store.amzDate(Date())
        var headers = request.headers
        headers.append(("host", configuration.host))
        headers.append(("x-amz-date", amzDate))
        headers.append(("x-amz-content-sha256", payloadHash))
        if let token = configuration.credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        let signature = signer.sign(
            method: request.method, canonicalPath: path, query: request.query, headers: headers,
            payloadHash: payloadHash, amzDate: amzDate)

        var components = URLComponents()
        components.scheme = configuration.scheme
        components.percentEncodedHost = configuration.host.split(separator: ":").first.map(String.init)
        if let port = configuration.host.split(separator: ":").dropFirst().first { components.port = Int(port) }
        components.percentEncodedPath = path
        if !request.query.isEmpty {
            components.percentEncodedQuery = request.query.map {
                "\(SigV4Signer.uriEncode($0.0, encodeSlash: true))=\(SigV4Signer.uriEncode($0.1, encodeSlash: true))"
            }.joined(separator: "&")
        }
        guard let url = components.url?.absoluteString else {
            throw BatonError(.usage, "\(displayURL): cannot build a URL for \(path)")
        }
        var httpRequest = HTTPClientRequest(url: url)
        httpRequest.method = HTTPMethod(rawValue: request.method)
        // The signature covers the host as configured (with its port): send exactly that.
        for (name, value) in headers { httpRequest.headers.add(name: name, value: value) }
        httpRequest.headers.add(name: "Authorization", value: signature.authorization)
        if request.method == "PUT" || request.method == "POST" {
            httpRequest.body = .bytes(ByteBuffer(bytes: payload))
            // Without it, POST bodies go out as a form, which servers may consume as one.
            httpRequest.headers.add(
                name: "Content-Type", value: request.method == "POST" ? "application/xml" : "application/octet-stream")
        }
        let timeout = Int64(configuration.requestTimeoutSeconds * 1000)
        let client = S3HTTPClient.client(readTimeoutMilliseconds: timeout)
        // Nothing arriving for `timeout` fails the request (the client's read timeout); the whole
        // exchange, a large body included, gets four times that, as before.
        let prepared = httpRequest
        let (status, responseHeaders, body) = try await Deadline.within(milliseconds: 4 * timeout) {
            let response = try await client.execute(prepared, timeout: .milliseconds(4 * timeout))
            var headers: [String: String] = [:]
            for header in response.headers { headers[header.name.lowercased()] = header.value }
            let body = try await response.body.collect(upTo: Int.max)
            return (Int(response.status.code), headers, [UInt8](body.readableBytesView))
        }
        return S3Response(status: status, headers: responseHeaders, body: body)
    }
}
