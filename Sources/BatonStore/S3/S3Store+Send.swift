import BatonCore
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

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
                if error is CancellationError { throw error }
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
        if let urlError = error as? URLError {
            switch urlError.code {
            case .timedOut: return "timed out after \(Int(configuration.requestTimeoutSeconds)) s"
            case .cannotConnectToHost, .cannotFindHost: return "cannot connect to \(configuration.host)"
            case .networkConnectionLost: return "connection to \(configuration.host) lost"
            default: return "\(urlError.localizedDescription) (\(configuration.host))"
            }
        }
        return "\(error)"
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
        guard let url = components.url else {
            throw BatonError(.usage, "\(displayURL): cannot build a URL for \(path)")
        }
        var urlRequest = URLRequest(url: url, timeoutInterval: configuration.requestTimeoutSeconds)
        urlRequest.httpMethod = request.method
        for (name, value) in headers where name != "host" { urlRequest.setValue(value, forHTTPHeaderField: name) }
        urlRequest.setValue(signature.authorization, forHTTPHeaderField: "Authorization")
        if request.method == "PUT" || request.method == "POST" {
            urlRequest.httpBody = Data(payload)
            urlRequest.setValue("\(payload.count)", forHTTPHeaderField: "Content-Length")
            // Without it, POST bodies go out as a form, which servers may consume as one.
            urlRequest.setValue(
                request.method == "POST" ? "application/xml" : "application/octet-stream",
                forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: urlRequest)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        var responseHeaders: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { responseHeaders[name.lowercased()] = value }
        }
        return S3Response(status: http.statusCode, headers: responseHeaders, body: [UInt8](data))
    }
}
