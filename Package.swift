// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Baton",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "baton", targets: ["baton"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLZ4", path: "Sources/CLZ4", providers: [.apt(["liblz4-dev"])]),
        .target(name: "BatonCore", dependencies: ["CLZ4"]),
        .target(name: "BatonSystem", dependencies: ["BatonCore"]),
        .target(
            name: "BatonStore",
            dependencies: ["BatonCore", "BatonSystem", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "BatonSQLite", dependencies: ["BatonCore", "BatonSystem", "CSQLite"]),
        .target(name: "BatonNode", dependencies: ["BatonCore", "BatonSystem", "BatonStore", "BatonSQLite"]),
        .executableTarget(
            name: "baton",
            dependencies: [
                "BatonCore", "BatonSystem", "BatonStore", "BatonSQLite", "BatonNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "BatonCoreTests", dependencies: ["BatonCore"]),
        .testTarget(name: "BatonStoreTests", dependencies: ["BatonStore", "BatonCore", "BatonSystem"]),
        .testTarget(
            name: "BatonNodeTests",
            dependencies: ["BatonNode", "BatonStore", "BatonSQLite", "BatonCore", "BatonSystem"]),
    ]
)
