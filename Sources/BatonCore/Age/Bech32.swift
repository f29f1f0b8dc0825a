/// Bech32 (BIP 173, the original checksum constant, not Bech32m), as age
/// writes its keys: `age1…` recipients and `AGE-SECRET-KEY-1…` identities.
/// Without BIP 173's 90-character limit, which age does not apply either.
public enum Bech32 {
    private static let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
    private static let checksumLength = 6

    private static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = Int8(index) }
        return table
    }()

    /// `data` under the human-readable part `hrp` (lower case).
    public static func encode(hrp: String, data: [UInt8]) -> String {
        let hrpBytes = Array(hrp.lowercased().utf8)
        let groups = regroup(data, from: 8, to: 5, pad: true) ?? []
        let checksummed = expand(hrpBytes) + groups + [UInt8](repeating: 0, count: checksumLength)
        let mod = polymod(checksummed) ^ 1
        var checksum: [UInt8] = []
        for index in 0..<checksumLength {
            checksum.append(UInt8((mod >> (5 * UInt32(checksumLength - 1 - index))) & 31))
        }
        let characters = (groups + checksum).map { alphabet[Int($0)] }
        return String(decoding: hrpBytes + [UInt8(ascii: "1")] + characters, as: UTF8.self)
    }

    /// The human-readable part (lower case) and the data of `text`; nil
    /// when it is not Bech32: mixed case, a character outside the
    /// alphabet, a wrong checksum, or bits left over.
    public static func decode(_ text: String) -> (hrp: String, data: [UInt8])? {
        let bytes = Array(text.utf8)
        let hasLower = bytes.contains { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }
        let hasUpper = bytes.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        guard !(hasLower && hasUpper), bytes.allSatisfy({ $0 >= 33 && $0 <= 126 }) else { return nil }
        let lower = bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }
        guard let separator = lower.lastIndex(of: UInt8(ascii: "1")), separator > 0,
            lower.count - separator - 1 >= checksumLength
        else { return nil }
        let hrp = Array(lower[..<separator])
        var groups: [UInt8] = []
        for character in lower[(separator + 1)...] {
            let value = character < 128 ? values[Int(character)] : -1
            guard value >= 0 else { return nil }
            groups.append(UInt8(value))
        }
        guard polymod(expand(hrp) + groups) == 1 else { return nil }
        guard let data = regroup(Array(groups.dropLast(checksumLength)), from: 5, to: 8, pad: false) else { return nil }
        return (String(decoding: hrp, as: UTF8.self), data)
    }

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        var checksum: UInt32 = 1
        for value in values {
            let top = checksum >> 25
            checksum = (checksum & 0x1ff_ffff) << 5 ^ UInt32(value)
            for bit in 0..<5 where (top >> UInt32(bit)) & 1 == 1 { checksum ^= generator[bit] }
        }
        return checksum
    }

    private static func expand(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    /// Regroups bits; nil when unpadded input leaves a whole group or nonzero bits.
    private static func regroup(_ data: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var accumulator = 0
        var bits = 0
        var result: [UInt8] = []
        let mask = (1 << to) - 1
        for value in data {
            accumulator = (accumulator << from) | Int(value)
            bits += from
            while bits >= to {
                bits -= to
                result.append(UInt8((accumulator >> bits) & mask))
            }
        }
        if pad {
            if bits > 0 { result.append(UInt8((accumulator << (to - bits)) & mask)) }
        } else if bits >= from || (accumulator << (to - bits)) & mask != 0 {
            return nil
        }
        return result
    }
}
