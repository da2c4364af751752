import Foundation

/// A value as Go's `text/template` sees it inside Helm: what `interface{}` holds after Helm read a
/// values file (maps, lists, strings, float64 numbers, booleans, nil), plus the ints that template
/// literals and Sprig's arithmetic make, and the few Go structs Helm puts in scope.
///
/// Maps are shared by reference, as Go maps are: `set`, `unset` and `merge` change the map every
/// holder sees, which charts rely on (`$_ := set $ctx "key" value`).
public enum TemplateValue: @unchecked Sendable {
    // @unchecked: MapBox is a class; a render runs on one task and never shares its values.
    case null
    case bool(Bool)
    case int(Int64, IntWidth)
    case float(Double)
    case string(String)
    case list([TemplateValue], element: String = "interface {}")
    case map(MapBox)
    case object(GoObject)

    /// Go's integer types that templates meet: literals and `len` are `int`; Sprig's arithmetic
    /// returns `int64`.
    public enum IntWidth: Sendable { case int, int64 }

    public static func integer(_ value: Int) -> TemplateValue { .int(Int64(value), .int) }
    public static func int64(_ value: Int64) -> TemplateValue { .int(value, .int64) }
    public static func dictionary(_ entries: [String: TemplateValue]) -> TemplateValue { .map(MapBox(entries)) }

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var stringValue: String? { if case .string(let text) = self { return text } else { return nil } }

    public var mapValue: MapBox? { if case .map(let box) = self { return box } else { return nil } }

    public var listValue: [TemplateValue]? {
        switch self {
        case .list(let items, _): return items
        case .object(let object): return object.underlying?.listValue
        default: return nil
        }
    }

    /// Go's `reflect.Kind` name, as Sprig's `kindOf` and `kindIs` give it.
    public var kindName: String {
        switch self {
        case .null: return "invalid"
        case .bool: return "bool"
        case .int(_, .int): return "int"
        case .int(_, .int64): return "int64"
        case .float: return "float64"
        case .string: return "string"
        case .list: return "slice"
        case .map: return "map"
        case .object(let object): return object.kind
        }
    }

    /// Go's type name, as Sprig's `typeOf` and `typeIs` give it.
    public var typeName: String {
        switch self {
        case .null: return "<nil>"
        case .bool: return "bool"
        case .int(_, .int): return "int"
        case .int(_, .int64): return "int64"
        case .float: return "float64"
        case .string: return "string"
        case .list(_, let element): return "[]" + element
        case .map(let box): return "map[string]" + box.element
        case .object(let object): return object.typeName
        }
    }

    /// Go's template truth: false, 0, "", nil and empty collections are false; structs are true.
    public var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let flag): return flag
        case .int(let number, _): return number != 0
        case .float(let number): return number != 0
        case .string(let text): return !text.isEmpty
        case .list(let items, _): return !items.isEmpty
        case .map(let box): return !box.storage.isEmpty
        case .object(let object): return object.underlying?.isTruthy ?? true
        }
    }

    /// Sprig's `empty`: as Go's truth inverted, except that structs are never empty.
    public var isEmpty: Bool { !isTruthy }

    /// A copy that shares nothing with the original (Sprig's `deepCopy`).
    public func deepCopy() -> TemplateValue {
        switch self {
        case .list(let items, let element): return .list(items.map { $0.deepCopy() }, element: element)
        case .map(let box): return .map(box.deepCopy())
        default: return self
        }
    }
}

/// A Go `map[string]interface{}`, shared by reference.
public final class MapBox {
    public var storage: [String: TemplateValue]
    /// The element type Go would name (`interface {}`, or `string` for `map[string]string`).
    public let element: String

    public init(_ storage: [String: TemplateValue] = [:], element: String = "interface {}") {
        self.storage = storage
        self.element = element
    }

    public subscript(key: String) -> TemplateValue? {
        get { storage[key] }
        set { storage[key] = newValue }
    }

    public var sortedKeys: [String] { storage.keys.sorted() }

    public func deepCopy() -> MapBox { MapBox(storage.mapValues { $0.deepCopy() }, element: element) }
}

/// A Go struct (or pointer to one) that Helm puts in scope: `.Capabilities`, `.Files`, a
/// certificate from `genCA`. Fields answer `.Name`; methods answer `.Name arg...`.
public final class GoObject {
    public let typeName: String
    public let kind: String
    public let fields: [String: TemplateValue]
    public let methods: [String: ([TemplateValue]) throws -> TemplateValue]
    /// What the value stands for where Go would see the underlying slice or map (a `VersionSet`
    /// is a `[]string`; `.Files` is a map).
    public let underlying: TemplateValue?
    /// What `fmt` prints for it (its `String()` method, when it has one).
    public let printed: String?
    /// Field names and values in declaration order, for `toJson`.
    public let jsonFields: [(String, TemplateValue)]

    public init(
        typeName: String,
        kind: String = "ptr",
        fields: [String: TemplateValue] = [:],
        methods: [String: ([TemplateValue]) throws -> TemplateValue] = [:],
        underlying: TemplateValue? = nil,
        printed: String? = nil,
        jsonFields: [(String, TemplateValue)] = []
    ) {
        self.typeName = typeName
        self.kind = kind
        self.fields = fields
        self.methods = methods
        self.underlying = underlying
        self.printed = printed
        self.jsonFields = jsonFields
    }
}
