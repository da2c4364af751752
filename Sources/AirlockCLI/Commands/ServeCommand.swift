import AirlockCore
import ArgumentParser
import Foundation
import Registry

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a bundle's images and charts as a read-only registry, where no registry exists yet.",
        discussion: """
            Checks the signature and reads every blob against its signed digest (a damaged bundle is refused), then \
            answers the pull side of the distribution API (what containerd, docker, podman, skopeo and helm use) \
            straight from the bundle through its seek index: nothing is extracted. Blobs are sent without hashing them \
            again while the bundle's file is unchanged; once it changes, each is hashed while it is sent and cut off \
            before its end on a mismatch, so no client receives it whole. Repositories are named as airlock push names \
            them: the source path kept \
            (registry.example.com/team/app:1.0 → HOST:PORT/PREFIX/team/app:1.0), charts under charts/.
            Nothing can be pushed; with --htpasswd (bcrypt entries, htpasswd -B) every request but /healthz needs a \
            user's password (over TLS only). It listens on 127.0.0.1:5000 unless told otherwise; \
            to serve cluster nodes, listen on their network (--listen 0.0.0.0:5000) and give it a certificate \
            (--tls-cert, --tls-key) unless the nodes are configured for a plain-HTTP mirror. Runs until interrupted \
            (Ctrl-C or SIGTERM): it stops accepting, lets pulls in flight finish (at most --shutdown-timeout seconds), \
            then exits 0. Each request is one access-log line on stderr: TIME CLIENT USER METHOD PATH STATUS BYTES MS \
            (JSON lines with --log-format json). GET /healthz answers 200 while it serves; --ready-file is written once \
            it listens and removed when it stops.
            With --config-dir, the mapping and node mirror configs are written as push writes them, sending pulls of \
            the source registries to this server at --advertise HOST:PORT.
            With --cosign-key every image must carry a cosign signature by one of those keys, or nothing is served.
            Several bundles (and with --watch DIR, every bundle dropped into DIR while it serves, picked up once whole, \
            its signature and blobs checked first; a bundle that fails is refused and logged, the rest keep being served) are \
            served as one registry: a tag two bundles carry resolves to the newer by version order, and the log says \
            so. A delta finds its base among the bundles served.
            """
    )

    @Argument(help: ArgumentHelp("Bundles, or folders made by airlock unpack.", valueName: "BUNDLE")) var bundles: [String] = []
    @Option(name: .long, help: ArgumentHelp("Also serve every bundle in this folder, and those dropped into it later.", valueName: "DIR"))
    var watch: String?
    @OptionGroup var trust: TrustOptions
    @Option(name: .long, help: ArgumentHelp("Address and port to listen on; port 0 picks a free one.", valueName: "HOST:PORT"))
    var listen = "127.0.0.1:5000"
    @Option(name: .long, help: ArgumentHelp("Serve every repository under this path.", valueName: "PREFIX")) var prefix = ""
    @Option(
        name: .long,
        help: ArgumentHelp("Renaming rules, as for push: rules: [{match: SOURCE-PREFIX, replace: NEW-PREFIX}].", valueName: "FILE")
    )
    var rules: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "For a delta bundle (pack --since): the bundle it builds on, which answers for the layers the delta leaves out.",
            valueName: "OLD.tar.zst"
        )
    )
    var base: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Write mapping.json/.txt and node mirror configs (containerd hosts.toml, k3s registries.yaml, containers registries.conf) \
            here.
            """,
            valueName: "DIR"
        )
    )
    var configDir: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The address nodes reach this server at, for --config-dir (default: the --listen address).",
            valueName: "HOST:PORT"
        )
    )
    var advertise: String?
    @Option(name: .long, help: ArgumentHelp("Serve HTTPS with this certificate (PEM, chain allowed).", valueName: "PEM")) var tlsCert:
        String?
    @Option(name: .long, help: ArgumentHelp("The certificate's private key (PEM).", valueName: "PEM")) var tlsKey: String?
    @Option(name: .long, help: ArgumentHelp("Close a connection that sends and receives nothing for this long.", valueName: "SECONDS"))
    var idleTimeout = 300
    @Option(
        name: .long,
        help: ArgumentHelp("Require basic auth with these bcrypt users (htpasswd -B); needs --tls-cert.", valueName: "FILE")
    )
    var htpasswd: String?
    @Option(name: .long, help: ArgumentHelp("Write this file (the URL) once listening; removed on exit.", valueName: "FILE"))
    var readyFile: String?
    @Option(name: .long, help: ArgumentHelp("Connections served at once; more are answered 503.", valueName: "N"))
    var maxConnections = 512
    @Option(name: .long, help: ArgumentHelp("On SIGTERM, how long pulls in flight may take to finish.", valueName: "SECONDS"))
    var shutdownTimeout = 30
    @Option(name: .long, help: "Access log format on stderr: text or json (default: json with --output json, else text).")
    var logFormat: OutputFormat?
    @Flag(name: .shortAndLong, help: "Do not log requests.") var quiet = false
    @OptionGroup var cosign: CosignOptions
    @OptionGroup var outputOptions: OutputOptions

    struct Listening: Encodable {
        let url: String
        let images: [PushReport.Mapping]
        let unsigned: Bool
        let configFiles: [String]
    }

    func run() async throws {
        let (host, port) = try Self.address(listen, option: "--listen")
        let (tls, settings) = try serverSettings(host: host)
        let opening = ServeOpening(
            policy: try trust.policy(),
            prefix: prefix,
            rules: try rules.map { try PushRules.load(path: $0) } ?? PushRules(),
            cosign: try cosign.trust(),
            attestations: cosign.requireAttestation,
            base: base
        )
        let content = ServedLibrary()
        let quiet = quiet
        let announce: @Sendable (String) -> Void = { line in if !quiet { note(line) } }
        for bundle in bundles {
            let lines = try await content.open(bundle, with: opening)
            if bundles.count > 1 || watch != nil { lines.forEach(announce) }
        }
        let watcher = watch.map { BundleWatcher(folder: $0, library: content, opening: opening, log: announce) }
        await watcher?.scan(settled: true)
        if content.all.contains(where: \.unsigned) && outputOptions.output == .text {
            note("WARNING: --allow-unsigned: serving an unsigned bundle, without proof of who made it")
        }
        let watching = Task { await watcher?.run() }
        defer { watching.cancel() }
        // From here on SIGINT and SIGTERM stop the server, even one still binding; before, their
        // default action ends the process, which is as clean (serve writes nothing but configs).
        let serving = Task { [self, settings] in
            try await listenAndServe(content, host: host, port: port, tls: tls, settings: settings, rules: opening.rules)
        }
        defer { if let readyFile { unlink(readyFile) } }
        let signals = [SIGINT, SIGTERM].map { number in
            #if canImport(Darwin)
                signal(number, SIG_IGN)  // kqueue reports a signal only once its default action is off
            #endif
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { serving.cancel() }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        try await serving.value
    }

    /// The options checked together: TLS files, time-outs and limits, `--htpasswd` (TLS only),
    /// what `--config-dir` and `--watch` need.
    private func serverSettings(host: String) throws -> (RegistryServer.TLSFiles?, RegistryServer.Settings) {
        let tls: RegistryServer.TLSFiles?
        switch (tlsCert, tlsKey) {
        case (nil, nil): tls = nil
        case (let certificate?, let key?): tls = RegistryServer.TLSFiles(certificate: certificate, key: key)
        default: throw AirlockFailure(message: "give --tls-cert and --tls-key together", status: .usage)
        }
        if let advertise { _ = try Self.address(advertise, option: "--advertise") }
        guard idleTimeout > 0 else {
            throw AirlockFailure(message: "--idle-timeout takes a number of seconds above 0 (got \(idleTimeout))", status: .usage)
        }
        guard maxConnections > 0, shutdownTimeout >= 0 else {
            throw AirlockFailure(message: "--max-connections must be above 0 and --shutdown-timeout at least 0", status: .usage)
        }
        var settings = RegistryServer.Settings()
        settings.idleSeconds = idleTimeout
        settings.maxConnections = maxConnections
        settings.drainSeconds = shutdownTimeout
        if let htpasswd {
            guard tls != nil else {
                throw AirlockFailure(message: "--htpasswd sends passwords: serve over TLS (--tls-cert and --tls-key)", status: .usage)
            }
            settings.htpasswd = try Htpasswd(contentsOf: htpasswd)
        }
        if configDir != nil && advertise == nil && ["0.0.0.0", "::"].contains(host) {
            throw AirlockFailure(
                message: "--config-dir needs --advertise HOST:PORT, the address nodes reach this server at (it listens on \(listen))",
                status: .usage
            )
        }
        guard !bundles.isEmpty || watch != nil else {
            throw AirlockFailure(message: "give a bundle to serve, or --watch DIR", status: .usage)
        }
        if let watch, !FileManager.default.fileExists(atPath: watch) {
            throw AirlockFailure(message: "--watch \(watch) does not exist", status: .usage)
        }
        return (tls, settings)
    }

    /// Binds, says where (stdout, and the node configs), then serves until cancelled.
    private func listenAndServe(
        _ content: ServedLibrary,
        host: String,
        port: Int,
        tls: RegistryServer.TLSFiles?,
        settings: RegistryServer.Settings,
        rules: PushRules
    ) async throws {
        let format = logFormat ?? outputOptions.output
        let quiet = quiet
        let server = try await RegistryServer(host: host, port: port, tls: tls, settings: settings, content: content) { request in
            if !quiet { Self.log(request, format: format) }
        }
        let address = "\(host.contains(":") ? "[\(host)]" : host):\(server.port)"
        let images = content.mappings(at: address)
        let url = "\(tls == nil ? "http" : "https")://\(address)"
        let files =
            try configDir.map {
                try content.writeNodeConfigs(to: $0, address: advertise ?? address, plainHTTP: tls == nil, prefix: prefix, rules: rules)
            } ?? []
        let unsigned = content.all.contains(where: \.unsigned)
        let what = content.all.count == 1 ? content.all[0].path : "\(content.all.count) bundles"
        try outputOptions.emit(Listening(url: url, images: images, unsigned: unsigned, configFiles: files)) {
            "serving \(what) on \(url) (read-only)\n" + images.map { "\($0.source) -> \($0.target)\n" }.joined()
                + (configDir.map { "mapping and node mirror configs in \($0)/\n" } ?? "")
        }
        fflush(nil)  // the address on stdout now, for whoever waits for it
        if let readyFile { try Data((url + "\n").utf8).write(to: URL(fileURLWithPath: readyFile), options: .atomic) }
        try await server.run()
    }

    /// `HOST:PORT`, `[IPv6]:PORT`.
    static func address(_ text: String, option: String) throws -> (String, Int) {
        let wrong = AirlockFailure(
            message: "\(option) takes HOST:PORT, such as 127.0.0.1:5000 or 0.0.0.0:5000 (got \(text))",
            status: .usage
        )
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw wrong
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw wrong }
        return (host, port)
    }

    /// One access-log line: `TIME CLIENT USER METHOD PATH STATUS BYTES MS` (`-` for no user), or JSON.
    static func log(_ request: ServedRequest, format: OutputFormat) {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let line = try? encoder.encode(request) { note(String(decoding: line, as: UTF8.self)) }
        case .text:
            var line =
                "\(request.time) \(request.client) \(request.user ?? "-") \(request.method) \(request.path) "
                + "\(request.status) \(request.bytes) \(request.milliseconds)ms"
            if let failure = request.failure { line += " — cut off: \(failure)" }
            note(line)
        }
    }
}
