// swift-tools-version:5.9
// The pocketnn Swift package: the `Pocketnn` Swift API over the C library,
// shipped as an XCFramework (device and simulator slices). Build the
// framework first on a Mac: scripts/build-xcframework.sh
import PackageDescription

let package = Package(
    name: "Pocketnn",
    platforms: [.iOS(.v13), .macOS(.v11)],
    products: [
        .library(name: "Pocketnn", targets: ["Pocketnn"]),
    ],
    targets: [
        .binaryTarget(name: "PocketnnFFI", path: "build/PocketnnFFI.xcframework"),
        .target(name: "Pocketnn", dependencies: ["PocketnnFFI"], path: "Sources/Pocketnn"),
    ]
)
