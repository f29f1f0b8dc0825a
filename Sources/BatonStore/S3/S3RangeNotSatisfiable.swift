/// A ranged GET that starts at or past the object's end (416): a download
/// that reads in parts has reached the end (an empty object, or one whose
/// size is a multiple of the part size).
struct S3RangeNotSatisfiable: Error, CustomStringConvertible {
    var target: String

    var description: String { "\(target): the requested range starts past the object's end (416)" }
}
