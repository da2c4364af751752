import AirlockCore
import ArgumentParser
import Foundation
import Signing

/// A size in bytes as a person writes it: `4G`, `4480MiB`, `4.7GB`, `65536`. As GNU split reads
/// them: K, M, G, T (and KiB, MiB, GiB, TiB) count in 1024s; KB, MB, GB, TB in 1000s.
struct ByteSize: ExpressibleByArgument, Equatable {
    let bytes: Int64

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces)
        let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = text.dropFirst(number.count).trimmingCharacters(in: .whitespaces).uppercased()
        let scales: [String: Double] = [
            "": 1, "B": 1,
            "K": 0x1p10, "KIB": 0x1p10, "M": 0x1p20, "MIB": 0x1p20, "G": 0x1p30, "GIB": 0x1p30, "T": 0x1p40, "TIB": 0x1p40,
            "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
        ]
        guard !number.isEmpty, let value = Double(number), let scale = scales[unit] else { return nil }
        let bytes = (value * scale).rounded(.down)
        guard bytes >= 1, bytes < 0x1p62 else { return nil }
        self.bytes = Int64(bytes)
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
