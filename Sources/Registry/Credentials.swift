import Foundation

/// Credentials for one registry. `description` never shows the secret.
public enum Credential: Sendable, Equatable, CustomStringConvertible {
    case basic(username: String, password: String)
    /// An OAuth2 refresh token (docker's `identitytoken`).
    case identityToken(String)
    /// A bearer token sent as it is (docker's `registrytoken`).
    case registryToken(String)

    public var description: String {
        switch self {
        case .basic(let username, _): return "basic auth as \(username)"
        case .identityToken: return "identity token"
        case .registryToken: return "registry token"
        }
    }
}

/// Reads credentials the way docker and podman do: `credHelpers[host]`, else `credsStore`, else
/// `auths` in `$REGISTRY_AUTH_FILE`, `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
public struct CredentialStore: Sendable {
    public let configPath: String
    let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        if let file = environment["REGISTRY_AUTH_FILE"], !file.isEmpty {
            configPath = file
        } else if let folder = environment["DOCKER_CONFIG"], !folder.isEmpty {
            configPath = "\(folder)/config.json"
        } else {
            configPath = "\(environment["HOME"] ?? NSHomeDirectory())/.docker/config.json"
        }
    }

    private struct Config: Codable {
        struct Entry: Codable {
            var auth: String?
            var username: String?
            var password: String?
            var identitytoken: String?
            var registrytoken: String?
        }

        var auths: [String: Entry]?
        var credHelpers: [String: String]?
        var credsStore: String?
    }

    /// The credential for `host[:port]`, if any is configured.
    public func credential(for host: String) throws -> Credential? {
        guard let data = FileManager.default.contents(atPath: configPath) else { return nil }
        let config: Config
        do { config = try JSONDecoder().decode(Config.self, from: data) } catch {
            throw RegistryError.protocolViolation(host: host, detail: "credentials file \(configPath) does not parse")
        }
        let keys = Self.keys(for: host)
        if let helper = keys.lazy.compactMap({ config.credHelpers?[$0] }).first {
            return try fromHelper(helper, host: host)
        }
        if let entry = keys.lazy.compactMap({ config.auths?[$0] }).first {
            if let token = entry.registrytoken, !token.isEmpty { return .registryToken(token) }
            if let token = entry.identitytoken, !token.isEmpty { return .identityToken(token) }
            if let auth = entry.auth, !auth.isEmpty {
                guard let decoded = Data(base64Encoded: auth).flatMap({ String(data: $0, encoding: .utf8) }),
                    let colon = decoded.firstIndex(of: ":")
                else {
                    throw RegistryError.protocolViolation(
                        host: host,
                        detail: "the auth entry for \(host) in \(configPath) is not base64 of user:password"
                    )
                }
                return .basic(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
            }
            if let username = entry.username, let password = entry.password { return .basic(username: username, password: password) }
        }
        if let store = config.credsStore, !store.isEmpty { return try fromHelper(store, host: host) }
        return nil
    }

    /// The keys a host may be stored under (docker writes Docker Hub as its v1 URL).
    static func keys(for host: String) -> [String] {
        var keys = [host, "https://\(host)", "http://\(host)", "https://\(host)/v2/", "https://\(host)/v1/"]
        if host == "docker.io" || host == "registry-1.docker.io" || host == "index.docker.io" {
            keys += ["https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"]
        }
        return keys
    }

    /// Runs `docker-credential-<name> get` with the host on stdin.
    private func fromHelper(_ name: String, host: String) throws -> Credential? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker-credential-\(name)", "get"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw RegistryError.unauthorized(host: host, detail: "credential helper docker-credential-\(name) cannot be run")
        }
        input.fileHandleForWriting.write(Data(host.utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }  // "credentials not found"
        struct Answer: Decodable {
            var Username: String
            var Secret: String
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: data) else {
            throw RegistryError.unauthorized(host: host, detail: "credential helper docker-credential-\(name) gave an unreadable answer")
        }
        return answer.Username == "<token>" ? .identityToken(answer.Secret) : .basic(username: answer.Username, password: answer.Secret)
    }

    /// Stores basic credentials for `host` in the config file (mode 0600), keeping its other content.
    public func store(username: String, password: String, for host: String) throws {
        var object: [String: Any] = [:]
        if let data = FileManager.default.contents(atPath: configPath) {
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw RegistryError.protocolViolation(host: host, detail: "credentials file \(configPath) does not parse")
            }
            object = parsed
        }
        var auths = object["auths"] as? [String: Any] ?? [:]
        auths[host] = ["auth": Data("\(username):\(password)".utf8).base64EncodedString()]
        object["auths"] = auths
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        let folder = URL(fileURLWithPath: configPath).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = configPath + ".partial-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]),
            rename(temporary, configPath) == 0
        else {
            unlink(temporary)
            throw RegistryError.protocolViolation(host: host, detail: "cannot write \(configPath)")
        }
    }
}
