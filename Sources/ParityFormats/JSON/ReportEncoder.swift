import Foundation

extension JSONEncoder {
    /// The encoder of the `--json` reports: keys sorted (plus `formatting`), and non-finite numbers, which JSON has
    /// none of (a diverged loss, an infinite difference), as the strings `"inf"`, `"-inf"` and `"nan"`.
    public static func report(_ formatting: JSONEncoder.OutputFormatting = [.prettyPrinted]) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting.union(.sortedKeys)
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }
}
