import EdgeCore
import EdgeTopology
import Foundation
import XCTest

/// Every profile and device spec in the repository validates against the schema, and a measured
/// profile is named after its host.
final class CommittedProfilesTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testCommittedProfilesAndSpecsValidate() throws {
        var checked = 0
        for folder in ["Profiles", "Devices"] {
            let dir = Self.root.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".json") {
                let path = dir.appendingPathComponent(name).path
                let p = try HostProfile.load(path: path)
                XCTAssertEqual(p.host.name + ".json", name, "\(path): host.name is the file's name")
                XCTAssertEqual(p.kind, folder == "Profiles" ? .measured : .spec, path)
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 0, "Profiles/ holds at least the example profile")
    }
}
