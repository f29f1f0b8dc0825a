/// When a put may happen (S3 conditional writes).
public enum PutCondition: Equatable, Sendable {
    /// Always.
    case none
    /// Only if no object exists under the key (`If-None-Match: *`).
    case ifNoneMatch
    /// Only if the current object's ETag is this one (`If-Match`).
    case ifMatch(String)
}
