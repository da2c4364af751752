// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "airlock",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "airlock", targets: ["airlock"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // C libraries from Debian, behind small Swift wrappers.
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        // The PKCS#11 API's declarations (libp11-kit-dev); token modules are loaded with dlopen.
        .systemLibrary(name: "CPKCS11", path: "Sources/CPKCS11"),
        // libxcrypt (libcrypt-dev), for the bcrypt entries of serve --htpasswd.
        .systemLibrary(name: "CCrypt", path: "Sources/CCrypt"),

        // SHA-256 over libcrypto, shared by everything that names content by its digest.
        .target(name: "Hashing", dependencies: ["COpenSSL"]),
        .target(name: "OCI", dependencies: ["Hashing"]),
        .target(name: "StrictYAML", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "HelmTemplate", dependencies: ["Hashing", .product(name: "Yams", package: "Yams")]),
        .target(name: "Signing", dependencies: ["COpenSSL", "CPKCS11", "Hashing"]),
        .target(name: "BundleIO", dependencies: ["CArchive", "CZstd", "CLinux", "Hashing"]),
        .target(
            name: "Registry",
            dependencies: [
                "OCI", "Hashing", "CCrypt",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(name: "Endpoints", dependencies: ["Signing", "StrictYAML", "COpenSSL", "Registry"]),
        .target(
            name: "AirlockCore",
            dependencies: [
                "OCI", "Hashing", "BundleIO", "Signing", "Endpoints", "StrictYAML", "Registry", "HelmTemplate",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "AirlockCLI",
            dependencies: [
                "AirlockCore", "OCI", "Signing", "Registry", "Endpoints",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "airlock", dependencies: ["AirlockCLI"]),

        .testTarget(name: "OCITests", dependencies: ["OCI"]),
        .testTarget(name: "HelmTemplateTests", dependencies: ["HelmTemplate"]),
        .testTarget(name: "SigningTests", dependencies: ["Signing", "Hashing"]),
        .testTarget(name: "BundleIOTests", dependencies: ["BundleIO", "Hashing", "TestSupport"]),
        .testTarget(name: "EndpointsTests", dependencies: ["Endpoints", "Registry"]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "TestSupport"]),
        .testTarget(
            name: "AirlockCoreTests",
            dependencies: ["AirlockCore", "BundleIO", "Hashing", "Signing", "OCI", "HelmTemplate", "TestSupport"]
        ),
        // The harness the integration and end-to-end tests share: the real registry on loopback,
        // test CAs and servers, tool requirements, temporary folders, running the built binary.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "RegistryIntegrationTests",
            dependencies: ["Registry", "OCI", "Hashing", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(name: "EndToEndTests", dependencies: ["airlock", "TestSupport"]),
    ]
)
