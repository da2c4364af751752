import Foundation

/// Each provider's cheapest authenticated request, and how its answer is read.
///
/// - `openai-compatible`: `GET {base}/models`; the model must be among `data[].id`.
/// - `anthropic`: `GET {base}/v1/models/{model}` (`anthropic-version: 2023-06-01`); 404 means no such model.
/// - `azure-anthropic`: no model listing is offered, so the smallest message: `POST {base}/v1/messages`
///   with `max_tokens: 1`; 404 means no such model.
/// - `azure-ai-foundry`: Azure's data plane no longer lists deployments, so the smallest chat
///   completion: `POST {base}/openai/deployments/{deployment}/chat/completions?api-version=…` with
///   `max_tokens: 1`; 404 (`DeploymentNotFound`) means no such deployment.
struct ProviderRequest {
    enum Verdict {
        case ok(String)
        /// 401/403: the credential was refused.
        case refused(String)
        /// The request worked but the model or deployment does not exist.
        case missing(String)
        case failed(String)
    }

    let endpoint: ModelEndpoint
    var method = "GET"
    var path: String
    var headers: [(String, String)] = []
    var body: [UInt8]?

    static let anthropicVersion = "2023-06-01"

    /// The header an `api-key` credential goes in when `auth.header` does not say.
    static func defaultKeyHeader(_ provider: ModelEndpoint.Provider) -> String {
        switch provider {
        case .anthropic, .azureAnthropic: return "x-api-key"
        case .azureAIFoundry, .openAICompatible: return "api-key"
        }
    }

    init(endpoint: ModelEndpoint, basePath: String, credentials: Credentials) {
        self.endpoint = endpoint
        let base = basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath
        let model = endpoint.model ?? endpoint.deployment ?? ""
        let message = #"[{"role":"user","content":"ping"}]"#
        switch endpoint.provider {
        case .openAICompatible:
            path = "\(base)/models"
        case .anthropic:
            path = "\(base.hasSuffix("/v1") ? base : base + "/v1")/models/\(percentEncoded(model))"
            headers.append(("anthropic-version", Self.anthropicVersion))
        case .azureAnthropic:
            method = "POST"
            path = "\(base.hasSuffix("/v1") ? base : base + "/v1")/messages"
            headers.append(("anthropic-version", Self.anthropicVersion))
            body = Array(#"{"model":\#(jsonString(model)),"max_tokens":1,"messages":\#(message)}"#.utf8)
        case .azureAIFoundry:
            method = "POST"
            let deployment = endpoint.deployment ?? model
            let version = percentEncoded(endpoint.apiVersion ?? "")
            path = "\(base)/openai/deployments/\(percentEncoded(deployment))/chat/completions?api-version=\(version)"
            body = Array(#"{"max_tokens":1,"messages":\#(message)}"#.utf8)
        }
        switch credentials.authType {
        case .bearer: if let auth = credentials.auth { headers.append(("Authorization", "Bearer \(auth.value)")) }
        case .apiKey: if let auth = credentials.auth { headers.append((credentials.authHeader, auth.value)) }
        case .none: break
        }
        for header in credentials.headers { headers.append((header.name, header.value)) }
    }

    func judge(_ answer: HTTPAnswer) -> Verdict {
        let json = try? JSONSerialization.jsonObject(with: Data(answer.body))
        let message =
            errorMessage(json) ?? String(decoding: answer.body.prefix(200), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
        let model = endpoint.model ?? endpoint.deployment ?? ""
        switch answer.status {
        case 401, 403:
            return .refused(message.isEmpty ? "refused" : message)
        case 404 where endpoint.provider == .azureAIFoundry:
            let deployment = endpoint.deployment ?? model
            return .missing(
                "deployment \(deployment) not found at \(endpoint.host) (\(message)) — check deployment in the endpoint config"
            )
        case 404 where endpoint.provider != .openAICompatible:
            return .missing("model \(model) not found at \(endpoint.host) (\(message)) — check model in the endpoint config")
        case 200..<300:
            break
        default:
            return .failed(message.isEmpty ? "unexpected answer" : message)
        }
        switch endpoint.provider {
        case .openAICompatible:
            let listed = ((json as? [String: Any])?["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            guard listed.contains(model) else {
                let known = listed.prefix(8).joined(separator: ", ")
                return .missing(
                    """
                    model \(model) is not served at \(endpoint.host) (it lists \(known.isEmpty ? "no models" : known)) — check model \
                    in the endpoint config
                    """
                )
            }
            return .ok("model \(model) is listed")
        case .anthropic:
            return .ok("model \(model) exists")
        case .azureAnthropic:
            return .ok("model \(model) answered")
        case .azureAIFoundry:
            return .ok("deployment \(endpoint.deployment ?? model) answered")
        }
    }

    /// `error.message` (OpenAI, Azure, Anthropic shapes) or a top-level `message`.
    private func errorMessage(_ json: Any?) -> String? {
        guard let object = json as? [String: Any] else { return nil }
        if let error = object["error"] as? [String: Any] {
            let code = (error["code"] as? String) ?? (error["type"] as? String)
            let text = error["message"] as? String
            return [code, text].compactMap { $0 }.joined(separator: ": ")
        }
        return object["message"] as? String
    }
}

private func percentEncoded(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?&=#"))) ?? text
}

private func jsonString(_ text: String) -> String {
    String(decoding: (try? JSONSerialization.data(withJSONObject: [text])) ?? Data("[\"\"]".utf8), as: UTF8.self).dropFirst().dropLast()
        .description
}
