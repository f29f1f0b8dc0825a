#if canImport(Glibc)
    import Glibc
#endif

/// The local monotonic clock, in milliseconds: measures elapsed time only.
public enum MonotonicClock {
    /// Milliseconds since an arbitrary start.
    public static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// Nanoseconds since an arbitrary start (for short timings).
    public static func nanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
