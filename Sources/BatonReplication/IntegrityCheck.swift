/// How thoroughly a restored database is checked before it is put in place.
public enum IntegrityCheck: String, Sendable, CaseIterable {
    /// `PRAGMA quick_check`: structure without index contents (default).
    case quick
    /// `PRAGMA integrity_check`: everything, slower.
    case full
    /// No SQLite check (checksums are still verified).
    case none
}
