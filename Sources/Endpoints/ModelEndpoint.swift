import Foundation

/// Settings for reaching one private LLM endpoint from inside the disconnected network
/// (`kind: ModelEndpoint`). Secrets are never held here, only references to where they live.
public struct ModelEndpoint: Sendable, Equatable, Codable {
    public enum Provider: String, Sendable, Codable, CaseIterable {
        case azureAIFoundry = "azure-ai-foundry"
        case azureAnthropic = "azure-anthropic"
        case openAICompatible = "openai-compatible"
        case anthropic
    }

    /// Where a secret value comes from at run time.
    public enum ValueSource: Sendable, Equatable, Codable {
        case env(String)
        case file(String)
        case secret(name: String, key: String)
    }

    public struct Auth: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable, CaseIterable {
            case bearer
            case apiKey = "api-key"
            case none
        }

        public var type: Kind
        /// For `api-key`: the header that carries it (default per provider).
        public var header: String?
        public var valueFrom: ValueSource?
    }

    public struct Header: Sendable, Equatable, Codable {
        public var name: String
        /// A literal, allowed only for headers that do not carry credentials.
        public var value: String?
        public var valueFrom: ValueSource?
    }

    public struct Proxy: Sendable, Equatable, Codable {
        public var httpsProxy: String?
        public var httpProxy: String?
        public var noProxy: [String]
    }

    public var name: String
    public var provider: Provider
    public var baseURL: String
    public var model: String?
    public var deployment: String?
    public var apiVersion: String?
    public var auth: Auth
    public var headers: [Header]
    public var proxy: Proxy?
    /// Path of the PEM CA bundle, relative to the endpoint file (as written) or to the bundle's
    /// `endpoints/` folder (once packed).
    public var caFile: String?
    public var timeoutSeconds: Int?
    /// Allows `http://` base URLs (never the default).
    public var allowHTTP: Bool
    /// Allows an Azure provider to use a host outside Azure's domains (a private gateway).
    public var allowCustomHost: Bool
}
