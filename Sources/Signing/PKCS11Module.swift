internal import CPKCS11
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One loaded PKCS#11 module and the calls airlock makes through its function list. Every
/// failure is one line naming what to fix; return values are Cryptoki's `CKR_*` codes. A module
/// is loaded and initialised once per process, however many keys use it (Cryptoki is initialised
/// per process: finalising it for one key would end every other key's session).
///
/// `@unchecked Sendable`: `loaded` is guarded by `loading`; each key serialises its own calls,
/// and airlock signs one envelope at a time (Cryptoki initialised without locking callbacks
/// expects no two calls at once).
final class PKCS11Module: @unchecked Sendable {
    private static let loading = NSLock()
    nonisolated(unsafe) private static var loaded: [String: PKCS11Module] = [:]

    /// The module's function list; the library it lives in stays loaded for the process.
    private let functions: UnsafeMutablePointer<CK_FUNCTION_LIST>
    let path: String

    private init(functions: UnsafeMutablePointer<CK_FUNCTION_LIST>, path: String) {
        self.functions = functions
        self.path = path
    }

    static func load(_ path: String) throws -> PKCS11Module {
        try loading.withLock {
            if let module = loaded[path] { return module }
            let module = try open(path)
            loaded[path] = module
            return module
        }
    }

    private static func open(_ path: String) throws -> PKCS11Module {
        guard !path.isEmpty else {
            throw SigningError.pkcs11(
                "no PKCS#11 module: give --pkcs11-module PATH or AIRLOCK_PKCS11_MODULE (e.g. /usr/lib/softhsm/libsofthsm2.so)"
            )
        }
        guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
            throw SigningError.pkcs11("cannot load PKCS#11 module \(path): \(reason)")
        }
        guard let symbol = dlsym(library, "C_GetFunctionList") else {
            dlclose(library)
            throw SigningError.pkcs11("\(path) is not a PKCS#11 module (no C_GetFunctionList)")
        }
        typealias GetFunctionList = @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<CK_FUNCTION_LIST>?>?) -> CK_RV
        let getFunctionList = unsafeBitCast(symbol, to: GetFunctionList.self)
        var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        guard getFunctionList(&list) == PKCS11.ok, let list else {
            dlclose(library)
            throw SigningError.pkcs11("\(path): C_GetFunctionList failed")
        }
        let initialized = list.pointee.C_Initialize(nil)
        guard initialized == PKCS11.ok || initialized == PKCS11.cryptokiAlreadyInitialized else {
            dlclose(library)
            throw SigningError.pkcs11("\(path): C_Initialize failed (\(Self.name(initialized)))")
        }
        return PKCS11Module(functions: list, path: path)
    }

    /// The slot whose token is labelled `label` (the only token present when no label is given).
    func slot(token label: String?) throws -> CK_SLOT_ID {
        var count: CK_ULONG = 0
        try check(functions.pointee.C_GetSlotList(1, nil, &count), "C_GetSlotList")
        var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
        try check(functions.pointee.C_GetSlotList(1, &slots, &count), "C_GetSlotList")
        var labels: [(CK_SLOT_ID, String)] = []
        for slot in slots.prefix(Int(count)) {
            var info = CK_TOKEN_INFO()
            guard functions.pointee.C_GetTokenInfo(slot, &info) == PKCS11.ok else { continue }
            // Slots with an uninitialised token (SoftHSM always offers one) are not candidates.
            guard info.flags & PKCS11.tokenInitialized != 0 else { continue }
            let text = withUnsafeBytes(of: info.label) { String(decoding: $0, as: UTF8.self) }.trimmingCharacters(in: .whitespaces)
            labels.append((slot, text))
        }
        if let label {
            guard let found = labels.first(where: { $0.1 == label }) else {
                let known = labels.isEmpty ? "no initialised token" : "tokens: " + labels.map(\.1).joined(separator: ", ")
                throw SigningError.pkcs11("token \(label) not found in \(path) (\(known))")
            }
            return found.0
        }
        guard labels.count == 1 else {
            throw SigningError.pkcs11("\(path) has \(labels.count) tokens; name one with token= in the pkcs11: URI")
        }
        return labels[0].0
    }

    func openSession(slot: CK_SLOT_ID, readWrite: Bool) throws -> CK_SESSION_HANDLE {
        var session: CK_SESSION_HANDLE = 0
        let flags = PKCS11.serialSession | (readWrite ? PKCS11.readWriteSession : 0)
        try check(functions.pointee.C_OpenSession(slot, flags, nil, nil, &session), "C_OpenSession")
        return session
    }

    func close(_ session: CK_SESSION_HANDLE) { _ = functions.pointee.C_CloseSession(session) }

    /// Logs in once. A token one failure away from locking is not tried at all.
    func login(session: CK_SESSION_HANDLE, slot: CK_SLOT_ID, pin: String) throws {
        var info = CK_TOKEN_INFO()
        try check(functions.pointee.C_GetTokenInfo(slot, &info), "C_GetTokenInfo")
        if info.flags & PKCS11.userPINLocked != 0 {
            throw SigningError.pkcs11("the token's user PIN is locked; its security officer must unlock it")
        }
        if info.flags & PKCS11.userPINFinalTry != 0 {
            throw SigningError.pkcs11(
                "the token allows one more PIN attempt before it locks; airlock will not spend it — "
                    + "check the PIN with the token's own tool"
            )
        }
        var bytes = Array(pin.utf8)
        defer { for index in bytes.indices { bytes[index] = 0 } }
        let result = functions.pointee.C_Login(session, PKCS11.userType, &bytes, CK_ULONG(bytes.count))
        switch result {
        case PKCS11.ok, PKCS11.alreadyLoggedIn: return
        case PKCS11.pinIncorrect:
            throw SigningError.pkcs11("wrong PIN for the token (not retried; check --pin-file or AIRLOCK_PKCS11_PIN)")
        case PKCS11.pinLocked: throw SigningError.pkcs11("the token's user PIN is locked; its security officer must unlock it")
        default: throw SigningError.pkcs11("C_Login failed (\(Self.name(result)))")
        }
    }

    func requireMechanism(_ mechanism: CK_ULONG, slot: CK_SLOT_ID) throws {
        var info = CK_MECHANISM_INFO()
        guard functions.pointee.C_GetMechanismInfo(slot, mechanism, &info) == PKCS11.ok else {
            let name = [PKCS11.ecdsa: "CKM_ECDSA", PKCS11.eddsa: "CKM_EDDSA", PKCS11.ecKeyPairGen: "CKM_EC_KEY_PAIR_GEN"][mechanism]
            throw SigningError.pkcs11(
                "the token does not support \(name ?? "CKM_EC_EDWARDS_KEY_PAIR_GEN") (mechanism unsupported by \(path))"
            )
        }
    }

    /// The first object of `class` with the label and/or id given.
    func find(session: CK_SESSION_HANDLE, class objectClass: CK_ULONG, label: String?, id: [UInt8]?) throws -> CK_OBJECT_HANDLE? {
        var values = [(PKCS11.attributeClass, Self.bytes(of: objectClass))]
        if let label { values.append((PKCS11.attributeLabel, Array(label.utf8))) }
        if let id { values.append((PKCS11.attributeID, id)) }
        return try Self.withTemplate(values) { template in
            try check(functions.pointee.C_FindObjectsInit(session, &template, CK_ULONG(template.count)), "C_FindObjectsInit")
            defer { _ = functions.pointee.C_FindObjectsFinal(session) }
            var object: CK_OBJECT_HANDLE = 0
            var found: CK_ULONG = 0
            try check(functions.pointee.C_FindObjects(session, &object, 1, &found), "C_FindObjects")
            return found == 1 ? object : nil
        }
    }

    /// The public key object beside the private key, as a ``PublicKey``.
    func publicKey(session: CK_SESSION_HANDLE, label: String?, id: [UInt8]?) throws -> PublicKey {
        guard let object = try find(session: session, class: PKCS11.classPublicKey, label: label, id: id) else {
            throw SigningError.pkcs11("the token holds the private key but no public key object beside it (same label or id)")
        }
        let keyType = try attribute(session: session, object: object, type: PKCS11.attributeKeyType)
        let typeCode = keyType.withUnsafeBytes { $0.count == MemoryLayout<CK_ULONG>.size ? $0.load(as: CK_ULONG.self) : CK_ULONG.max }
        guard typeCode == PKCS11.keyTypeEC || typeCode == PKCS11.keyTypeEdwards else {
            let names: [CK_ULONG: String] = [0: "RSA", 1: "DSA", 2: "DH", 0x41: "Montgomery"]
            throw SigningError.unsupportedKey("the token's key is \(names[typeCode] ?? "of key type 0x\(String(typeCode, radix: 16))")")
        }
        let params = try attribute(session: session, object: object, type: PKCS11.attributeECParams)
        let point = try attribute(session: session, object: object, type: PKCS11.attributeECPoint)
        return try PublicKey(der: try SubjectPublicKeyInfo.der(ecParams: params, ecPoint: point), source: "the token's public key")
    }

    private func attribute(session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE, type: CK_ULONG) throws -> [UInt8] {
        var template = CK_ATTRIBUTE(type: type, pValue: nil, ulValueLen: 0)
        try check(functions.pointee.C_GetAttributeValue(session, object, &template, 1), "C_GetAttributeValue")
        var value = [UInt8](repeating: 0, count: Int(template.ulValueLen))
        try value.withUnsafeMutableBytes { buffer in
            template.pValue = buffer.baseAddress
            try check(functions.pointee.C_GetAttributeValue(session, object, &template, 1), "C_GetAttributeValue")
        }
        return Array(value.prefix(Int(template.ulValueLen)))
    }

    func sign(session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE, mechanism: CK_ULONG, data: [UInt8]) throws -> [UInt8] {
        var chosen = CK_MECHANISM(mechanism: mechanism, pParameter: nil, ulParameterLen: 0)
        try check(functions.pointee.C_SignInit(session, &chosen, key), "C_SignInit")
        var input = data
        var length: CK_ULONG = 0
        try check(functions.pointee.C_Sign(session, &input, CK_ULONG(input.count), nil, &length), "C_Sign")
        var signature = [UInt8](repeating: 0, count: Int(length))
        try check(functions.pointee.C_Sign(session, &input, CK_ULONG(input.count), &signature, &length), "C_Sign")
        return Array(signature.prefix(Int(length)))
    }

    /// A token key pair that signs, never leaves the token (sensitive, not extractable), labelled
    /// and identified alike on both halves.
    func generateKeyPair(session: CK_SESSION_HANDLE, type: KeyType, label: String?, id: [UInt8]) throws {
        let yes = Self.bytes(of: CK_BBOOL(1))
        let no = Self.bytes(of: CK_BBOOL(0))
        let params = type == .ecdsaP256 ? PKCS11.p256Params : PKCS11.ed25519Params
        let label = Array((label ?? "airlock").utf8)
        var mechanism = CK_MECHANISM(
            mechanism: type == .ecdsaP256 ? PKCS11.ecKeyPairGen : PKCS11.edwardsKeyPairGen,
            pParameter: nil,
            ulParameterLen: 0
        )
        let publicValues = [
            (PKCS11.attributeToken, yes), (PKCS11.attributeVerify, yes), (PKCS11.attributeECParams, params),
            (PKCS11.attributeLabel, label), (PKCS11.attributeID, id),
        ]
        let privateValues = [
            (PKCS11.attributeToken, yes), (PKCS11.attributePrivate, yes), (PKCS11.attributeSign, yes),
            (PKCS11.attributeSensitive, yes), (PKCS11.attributeExtractable, no), (PKCS11.attributeLabel, label),
            (PKCS11.attributeID, id),
        ]
        try Self.withTemplate(publicValues) { publicTemplate in
            try Self.withTemplate(privateValues) { privateTemplate in
                var publicHandle: CK_OBJECT_HANDLE = 0
                var privateHandle: CK_OBJECT_HANDLE = 0
                try check(
                    functions.pointee.C_GenerateKeyPair(
                        session,
                        &mechanism,
                        &publicTemplate,
                        CK_ULONG(publicTemplate.count),
                        &privateTemplate,
                        CK_ULONG(privateTemplate.count),
                        &publicHandle,
                        &privateHandle
                    ),
                    "C_GenerateKeyPair"
                )
            }
        }
    }

    /// Calls `body` with a template of `values` (attribute type, value bytes), each value copied
    /// into memory that lives for the call, so no pointer outlives what it points at.
    private static func withTemplate<T>(_ values: [(CK_ULONG, [UInt8])], _ body: (inout [CK_ATTRIBUTE]) throws -> T) rethrows -> T {
        let buffers = values.map { _, bytes in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: MemoryLayout<CK_ULONG>.alignment)
            buffer.copyBytes(from: bytes)
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var template = zip(values, buffers).map { value, buffer in
            CK_ATTRIBUTE(type: value.0, pValue: buffer.baseAddress, ulValueLen: CK_ULONG(value.1.count))
        }
        return try body(&template)
    }

    /// A value's bytes as the token reads them (native order: `CK_ULONG` classes, `CK_BBOOL` flags).
    private static func bytes<T>(of value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

    private func check(_ result: CK_RV, _ operation: String) throws {
        guard result == PKCS11.ok else { throw SigningError.pkcs11("\(operation) failed (\(Self.name(result)))") }
    }

    /// A `CKR_*` code by name where airlock can say more than its number.
    static func name(_ code: CK_RV) -> String {
        let names: [CK_RV: String] = [
            0x5: "CKR_GENERAL_ERROR", 0x6: "CKR_FUNCTION_FAILED", 0x7: "CKR_ARGUMENTS_BAD", 0x12: "CKR_ATTRIBUTE_TYPE_INVALID",
            0x13: "CKR_ATTRIBUTE_VALUE_INVALID", 0x70: "CKR_MECHANISM_INVALID", 0x82: "CKR_OBJECT_HANDLE_INVALID",
            0xA0: "CKR_PIN_INCORRECT", 0xA4: "CKR_PIN_LOCKED", 0xB3: "CKR_SESSION_HANDLE_INVALID", 0xE0: "CKR_TOKEN_NOT_PRESENT",
            0x101: "CKR_USER_NOT_LOGGED_IN", 0x150: "CKR_BUFFER_TOO_SMALL", 0x190: "CKR_CRYPTOKI_NOT_INITIALIZED",
        ]
        return names[code] ?? "CKR 0x" + String(code, radix: 16)
    }
}
