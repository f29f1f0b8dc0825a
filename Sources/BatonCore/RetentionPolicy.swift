/// How much history a replica keeps: every point in time for
/// `pointInTimeMilliseconds`, and before that one restore point per hour,
/// day and week for as many of the newest hours, days and weeks as the
/// counts say (`retention: {pointInTime: 24h, hourly: 48, daily: 30,
/// weekly: 52}`). Hours and days are UTC; weeks start on Monday.
public struct RetentionPolicy: Sendable, Equatable {
    /// Every transaction of this last stretch stays restorable.
    public var pointInTimeMilliseconds: Int64
    /// Restore points kept before the window: one per hour, for this many hours that have one.
    public var hourly: Int
    /// One per day, for this many days.
    public var daily: Int
    /// One per week, for this many weeks.
    public var weekly: Int

    /// A policy; counts of 0 keep nothing before the window.
    public init(pointInTimeMilliseconds: Int64, hourly: Int = 0, daily: Int = 0, weekly: Int = 0) {
        self.pointInTimeMilliseconds = pointInTimeMilliseconds
        self.hourly = hourly
        self.daily = daily
        self.weekly = weekly
    }

    /// Whether anything is kept before the window.
    public var hasTiers: Bool { hourly > 0 || daily > 0 || weekly > 0 }

    /// Each tier as the bucket a point falls in and how many buckets are kept.
    var tiers: [(bucket: @Sendable (Int64) -> Int64, count: Int)] {
        let hour: Int64 = 3_600_000
        let day = 24 * hour
        // 1970-01-01 was a Thursday: weeks counted from Monday 1970-01-05.
        let monday = 4 * day
        return [
            ({ floorDivision($0, hour) }, hourly),
            ({ floorDivision($0, day) }, daily),
            ({ floorDivision($0 - monday, 7 * day) }, weekly),
        ]
    }
}

/// Division rounding towards minus infinity (times before 1970 stay in their bucket).
private func floorDivision(_ value: Int64, _ divisor: Int64) -> Int64 {
    let quotient = value / divisor
    return (value % divisor != 0 && value < 0) ? quotient - 1 : quotient
}
