import Testing

@testable import BatonHA
