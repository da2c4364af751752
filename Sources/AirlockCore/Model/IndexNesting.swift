/// How deep image indexes may nest (an index of indexes of manifests…): pack, push and serve walk
/// at most this many levels, so a hostile or broken index cannot send them round in circles.
enum IndexNesting {
    static let limit = 8

    /// Whether a document found `depth` levels below the root is still walked.
    static func allows(_ depth: Int) -> Bool { depth < limit }

    /// The refusal, the same whichever journey meets it.
    static func refusal(_ what: String) -> String { "\(what): indexes nested deeper than \(limit) levels" }
}
