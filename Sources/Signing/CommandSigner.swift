import Foundation

/// A key held by something airlock cannot reach itself (a cloud KMS, Vault), used through a
/// command: `--key exec:COMMAND` runs `/bin/sh -c COMMAND` with the bytes to sign (DSSE's
/// pre-authentication encoding) on stdin and reads the signature from stdout: DER for ECDSA
/// P-256 (a raw 64-byte `r || s` is converted), 64 bytes for Ed25519. The public key is given
/// (`--signer-pub`), so the key id is known before anything is signed, and every signature is
/// checked against it before it is used.
public struct CommandSigner: Sendable {
    public static let prefix = "exec:"
    public let command: String
    public let publicKey: PublicKey

    public static func isCommand(_ text: String) -> Bool { text.hasPrefix(prefix) }

    public init(_ text: String, publicKey: PublicKey) throws {
        let command = String(text.dropFirst(Self.prefix.count)).trimmingCharacters(in: .whitespaces)
        guard !command.isEmpty else { throw SigningError.signerCommand("exec: names no command (--key exec:COMMAND)") }
        self.command = command
        self.publicKey = publicKey
    }

    func signature(for message: [UInt8]) throws -> [UInt8] {
        // A command that exits without reading stdin must fail as itself, not kill airlock.
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        do { try process.run() } catch {
            throw SigningError.signerCommand("cannot run the signer command: \(error)")
        }
        // Written from another thread so a command that answers before reading all of stdin
        // cannot deadlock against a full pipe.
        let writer = Thread {
            try? input.fileHandleForWriting.write(contentsOf: Data(message))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let answer = [UInt8](output.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SigningError.signerCommand(
                "the signer command exited with status \(process.terminationStatus) (its own message is above)"
            )
        }
        var signature = answer
        if publicKey.type == .ecdsaP256, !ECDSASignature.isDER(signature), signature.count == 64 {
            signature = try ECDSASignature.der(fromRaw: signature)
        }
        guard !signature.isEmpty else { throw SigningError.signerCommand("the signer command printed no signature") }
        guard publicKey.isValidSignature(signature, for: message) else {
            let key = publicKey.keyID.prefix(16)
            throw SigningError.signerCommand(
                "the signer command's signature (\(answer.count) bytes) does not verify with --signer-pub \(key)…: "
                    + "wrong key, or not a binary \(publicKey.type == .ecdsaP256 ? "DER ECDSA" : "Ed25519") signature"
            )
        }
        return signature
    }
}
