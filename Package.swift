// swift-tools-version:6.0
//
// Intake: an omnichannel intake message broker for city 12345 service platforms.
// No Swift package dependencies: Foundation, Dispatch, Glibc, Synchronization and the system
// OpenSSL (through the COpenSSL system-library target) only.
//
// Dependencies point one way:
//   IntakeJSON ← IntakeTelemetry; IntakeJSON ← IntakeCore ← IntakeStore; IntakeCrypto (leaf)
//   IntakeWire, IntakeNet ← IntakeServer ← intake; IntakeBench uses the leaves and IntakeCore
//   COpenSSL is imported by IntakeCrypto (hashes, HMAC, random) and IntakeNet (TLS) only.
//   Channels/* translate channel formats to the Envelope of IntakeCore; they own no sockets.
import PackageDescription


let package = Package(
    name: "Intake",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "intake", targets: ["intake"]),
        .executable(name: "intake-bench", targets: ["IntakeBench"]),
    ],
    targets: [
        // MARK: system glue
        .target(name: "CIntakeLinux", path: "Sources/CIntakeLinux"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev", "pkg-config"])]),

        // MARK: leaves
        .target(name: "IntakeJSON"),
        .target(name: "IntakeCrypto", dependencies: ["COpenSSL"]),
        .target(name: "IntakeTelemetry", dependencies: ["IntakeJSON"]),
        .target(name: "FAQBot", dependencies: ["IntakeJSON"], resources: [.copy("Resources")]),

        // MARK: domain and storage
        .target(name: "IntakeCore", dependencies: ["IntakeJSON"]),
        .target(name: "IntakeStore", dependencies: ["IntakeCore", "IntakeTelemetry", "CIntakeLinux"]),

        // MARK: network
        .target(name: "IntakeWire", dependencies: ["IntakeJSON", "IntakeCrypto"]),
        .target(name: "IntakeNet", dependencies: ["CIntakeLinux", "IntakeTelemetry", "COpenSSL"]),

        // MARK: channels (adapters translate; they own no sockets)
        .target(name: "WebChannel", dependencies: ["IntakeCore", "IntakeJSON"], path: "Channels/Web",
                exclude: ["README.md"], resources: [.copy("widget")]),
        .target(name: "AppChannel", dependencies: ["IntakeCore", "IntakeJSON", "IntakeCrypto"], path: "Channels/App",
                exclude: ["README.md"]),
        .target(name: "PhoneChannel", dependencies: ["IntakeCore", "IntakeJSON"], path: "Channels/Phone",
                exclude: ["README.md"]),
        .target(name: "WeChatChannel", dependencies: ["IntakeCore", "IntakeJSON", "IntakeCrypto"],
                path: "Channels/WeChat", exclude: ["README.md"]),

        // MARK: wiring and executables
        .target(name: "IntakeServer", dependencies: [
            "IntakeCore", "IntakeStore", "IntakeWire", "IntakeNet", "IntakeTelemetry",
            "IntakeCrypto", "IntakeJSON", "WebChannel", "WeChatChannel", "CIntakeLinux", "AppChannel", "PhoneChannel", "FAQBot",
        ], resources: [.copy("Resources/ops"), .copy("Resources/agent")]),
        .executableTarget(name: "intake", dependencies: ["IntakeServer"]),
        .executableTarget(name: "IntakeBench", dependencies: [
            "IntakeWire", "IntakeNet", "IntakeJSON", "IntakeCrypto", "IntakeStore", "CIntakeLinux", "FAQBot", "COpenSSL",
        ]),
        .target(name: "IntakeTestSupport", dependencies: ["IntakeWire", "IntakeNet", "IntakeJSON", "CIntakeLinux"]),

        // MARK: tests
        .testTarget(name: "IntakeJSONTests", dependencies: ["IntakeJSON"]),
        .testTarget(name: "IntakeCoreTests", dependencies: ["IntakeCore", "IntakeJSON", "IntakeTestSupport"]),
        .testTarget(name: "IntakeCryptoTests", dependencies: ["IntakeCrypto"]),
        .testTarget(name: "IntakeTelemetryTests", dependencies: ["IntakeTelemetry"]),
        .testTarget(name: "IntakeWireTests", dependencies: ["IntakeWire", "IntakeTestSupport"]),
        .testTarget(name: "IntakeNetTests", dependencies: ["IntakeNet", "IntakeTestSupport"]),
        .testTarget(name: "IntakeStoreTests", dependencies: ["IntakeStore", "IntakeTestSupport"]),
        .testTarget(name: "FAQBotTests", dependencies: ["FAQBot", "IntakeJSON"]),
        .testTarget(name: "IntakeServerTests", dependencies: ["IntakeServer", "IntakeTestSupport", "FAQBot", "WeChatChannel"]),
        .testTarget(name: "AppChannelTests", dependencies: ["AppChannel", "IntakeCore", "IntakeJSON", "IntakeCrypto"]),
        .testTarget(name: "PhoneChannelTests", dependencies: ["PhoneChannel", "IntakeCore", "IntakeJSON"]),
        .testTarget(name: "WeChatChannelTests", dependencies: ["WeChatChannel", "IntakeCore", "IntakeJSON", "IntakeCrypto"],
                    exclude: ["Fixtures"]),
    ]
)
