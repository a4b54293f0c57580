import Foundation
import XCTest
import EdgeCore

/// The hand-written specs in `Devices/` (hosts we plan for but do not own) decode and validate against the
/// host-profile schema, have the shapes the planner expects, and a broken document is refused with an
/// error naming the exact field.
final class DeviceSpecTests: XCTestCase {
    /// `Devices/` at the root of the checkout, found from this file's path.
    private static let devicesDirectory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // EdgePlannerTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("Devices", isDirectory: true)

    private func specFiles() throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.devicesDirectory.path)
        return names.filter { $0.hasSuffix(".json") }.sorted().map { Self.devicesDirectory.appendingPathComponent($0) }
    }

    private func load(_ name: String) throws -> HostProfile {
        let url = Self.devicesDirectory.appendingPathComponent("\(name).json")
        let data = try Data(contentsOf: url)
        do {
            return try HostProfile.decode(data, file: "Devices/\(name).json")
        } catch {
            XCTFail("\(error)")
            throw error
        }
    }

    // MARK: - Every spec

    func testEverySpecDecodesAndValidates() throws {
        let files = try specFiles()
        XCTAssertGreaterThanOrEqual(files.count, 6, "Devices/ should hold at least the six required hosts")
        for url in files {
            let name = url.deletingPathExtension().lastPathComponent
            let data = try Data(contentsOf: url)
            let profile: HostProfile
            do {
                profile = try HostProfile.decode(data, file: "Devices/\(url.lastPathComponent)")
            } catch {
                XCTFail("\(error)")
                continue
            }
            XCTAssertEqual(profile.kind, .spec, name)
            XCTAssertEqual(profile.host.name, name, "host.name should be the file's name")
            XCTAssertEqual(profile.host.tool, "hand-written", name)
            XCTAssertEqual(profile.host.created, "2026-11-22", name)
            XCTAssertFalse(profile.host.description.isEmpty, name)
            // Re-validating the decoded value passes too (decode already did; this pins that validate is the check).
            XCTAssertNoThrow(try profile.validate(file: name))
        }
    }

    /// Every figure in a spec is a citation (with an address) or says it is an estimate; none claims to be
    /// measured, since we do not own these hosts.
    func testEveryFigureIsCitedOrMarkedAsAnEstimate() throws {
        for url in try specFiles() {
            let json = try JSONDecoder().decode(JSON.self, from: Data(contentsOf: url))
            var figures = 0
            json.forEachFigure { path, source in
                figures += 1
                let s = source.trimmingCharacters(in: .whitespaces)
                XCTAssertFalse(s.isEmpty, "\(url.lastPathComponent): \(path) has no source")
                XCTAssertFalse(s.hasPrefix("measured"), "\(url.lastPathComponent): \(path) claims a measurement in a spec")
                XCTAssertTrue(s.hasPrefix("estimate:") || s.contains("http"),
                              "\(url.lastPathComponent): \(path) is neither an estimate nor a citation with an address: \(s)")
            }
            XCTAssertGreaterThan(figures, 5, url.lastPathComponent)
        }
    }

    // MARK: - The six required hosts and their shapes

    func testRaspberryPi5HasFourUniformCores() throws {
        let p = try load("raspberry-pi-5-8gb")
        XCTAssertEqual(p.cpu.architecture, "aarch64")
        XCTAssertFalse(p.cpu.hybrid)
        XCTAssertEqual(p.cpu.coreClasses.count, 1)
        XCTAssertEqual(p.cpu.coreClasses[0].type, "uniform")
        XCTAssertEqual(p.cpu.coreClasses[0].cpus, [0, 1, 2, 3])
        XCTAssertEqual(p.numa.nodes.count, 1)
        XCTAssertEqual(p.gpus, [])
        XCTAssertEqual(p.memory.totalBytes.value, 8048 * 1048576)
        XCTAssertFalse(p.storage.isEmpty)
    }

    func testJetsonGPUSharesHostMemory() throws {
        let p = try load("jetson-orin-nano-8gb")
        XCTAssertEqual(p.cpu.architecture, "aarch64")
        XCTAssertEqual(p.cpu.cpuIDs.count, 6)
        XCTAssertEqual(p.gpus.count, 1)
        XCTAssertTrue(p.gpus[0].sharesHostMemory)
        XCTAssertLessThanOrEqual(p.gpus[0].memoryBytes.value, p.memory.availableBytes.value)
        XCTAssertLessThan(p.memory.totalBytes.value, 8.6e9, "an 8 GB board")
    }

    func testLaptopIsHybridWithThreeCoreClasses() throws {
        let p = try load("core-ultra-7-155h-laptop")
        XCTAssertEqual(p.cpu.architecture, "x86_64")
        XCTAssertTrue(p.cpu.hybrid)
        XCTAssertEqual(p.cpu.coreClasses.map(\.type), ["performance", "efficiency", "low-power efficiency"])
        XCTAssertEqual(p.cpu.coreClasses.map(\.cpus.count), [6, 8, 2], "6 P + 8 E + 2 LP-E physical cores")
        XCTAssertEqual(p.cpu.coreClasses[0].relativeSpeed.value, 1)
        let speeds = p.cpu.coreClasses.map(\.relativeSpeed.value)
        XCTAssertEqual(speeds, speeds.sorted(by: >), "classes listed fastest first")
        XCTAssertTrue(p.cpu.coreClasses.allSatisfy { !$0.kernels.isEmpty })
        XCTAssertEqual(p.coreClass(ofCPU: 20)?.type, "low-power efficiency")
        XCTAssertNil(p.coreClass(ofCPU: 1), "P-core hyper-thread siblings are left out")
    }

    func testServerHasTwoNUMANodes() throws {
        let p = try load("xeon-2s-server")
        XCTAssertEqual(p.numa.nodes.count, 2)
        XCTAssertEqual(p.numa.nodes.map(\.id), [0, 1])
        XCTAssertEqual(p.numa.distances, [[10, 21], [21, 10]])
        XCTAssertNotNil(p.numa.crossNodeReadGBPerS)
        XCTAssertEqual(p.numa.nodes.map(\.cpus.count), [56, 56])
        XCTAssertTrue(Set(p.numa.nodes[0].cpus).isDisjoint(with: p.numa.nodes[1].cpus))
        // Remote reads are slower than local ones.
        XCTAssertLessThan(p.numa.crossNodeReadGBPerS!.value, p.numa.nodes[0].readGBPerSAllCores.value)
        XCTAssertTrue(p.cpu.features.contains("avx512_vnni"))
        XCTAssertEqual(p.gpus, [])
    }

    func testDesktopHasOneDiscreteGPU() throws {
        let p = try load("desktop-rtx4060-8gb")
        XCTAssertEqual(p.gpus.count, 1)
        XCTAssertFalse(p.gpus[0].sharesHostMemory)
        XCTAssertLessThanOrEqual(p.gpus[0].memoryBytes.value, 8.0 * 1073741824)
        // The link (PCIe 4.0 x8) is far slower than the card's own memory.
        XCTAssertLessThan(p.gpus[0].linkGBPerS.value, 16)
        XCTAssertGreaterThan(p.gpus[0].memoryGBPerS.value, 10 * p.gpus[0].linkGBPerS.value)
    }

    func testPhoneIsHybridWithAGPUSharingHostMemory() throws {
        let p = try load("phone-snapdragon-8-gen-3")
        XCTAssertEqual(p.cpu.architecture, "aarch64")
        XCTAssertTrue(p.cpu.hybrid)
        XCTAssertEqual(p.cpu.coreClasses.map(\.cpus.count), [1, 5, 2], "1 + 5 + 2 cores")
        XCTAssertEqual(p.gpus.count, 1)
        XCTAssertTrue(p.gpus[0].sharesHostMemory)
        XCTAssertLessThanOrEqual(p.gpus[0].memoryBytes.value, p.memory.totalBytes.value)
    }

    // MARK: - Malformed documents name the field

    private func pristine(_ name: String = "raspberry-pi-5-8gb") throws -> JSON {
        try JSONDecoder().decode(JSON.self, from: Data(contentsOf: Self.devicesDirectory.appendingPathComponent("\(name).json")))
    }

    /// Decodes a broken variant and returns the error; fails if it was accepted.
    private func refusal(_ json: JSON, file: String = "Devices/broken.json",
                         line: UInt = #line) throws -> HostProfileError? {
        let data = try JSONEncoder().encode(json)
        do {
            _ = try HostProfile.decode(data, file: file)
            XCTFail("a broken document was accepted", line: line)
            return nil
        } catch {
            // `decode` throws only HostProfileError (typed throws), so `error` is one.
            XCTAssertTrue(error.description.hasPrefix("\(file):"), "the error names the file: \(error)", line: line)
            return error
        }
    }

    func testUnchangedRoundTripIsAccepted() throws {
        // The JSON helper itself must not break a good document.
        let data = try JSONEncoder().encode(try pristine())
        XCTAssertNoThrow(try HostProfile.decode(data, file: "Devices/raspberry-pi-5-8gb.json"))
    }

    func testMissingFieldIsNamed() throws {
        var json = try pristine()
        json.remove(["numa", "nodes", 0, "memory_bytes"])
        let error = try refusal(json)
        XCTAssertEqual(error, .missingField(file: "Devices/broken.json", field: "numa.nodes[0].memory_bytes"))
        XCTAssertTrue("\(error!)".contains("missing field 'numa.nodes[0].memory_bytes'"), "\(error!)")

        var noHost = try pristine()
        noHost.remove(["host", "created"])
        XCTAssertEqual(try refusal(noHost), .missingField(file: "Devices/broken.json", field: "host.created"))
    }

    func testStringWhereANumberBelongsIsNamed() throws {
        var json = try pristine()
        json.set(["numa", "nodes", 0, "read_gb_per_s_all_cores", "value"], .string("fast"))
        let error = try refusal(json)
        XCTAssertEqual(error, .wrongType(file: "Devices/broken.json", field: "numa.nodes[0].read_gb_per_s_all_cores.value",
                                         expected: "a number"))
        XCTAssertTrue("\(error!)".contains("'numa.nodes[0].read_gb_per_s_all_cores.value' should be a number"), "\(error!)")

        var cpuID = try pristine()
        cpuID.set(["cpu", "core_classes", 0, "cpus", 2], .string("2"))
        XCTAssertEqual(try refusal(cpuID), .wrongType(file: "Devices/broken.json", field: "cpu.core_classes[0].cpus[2]",
                                                      expected: "an integer"))
    }

    func testFigureWithoutSourceIsNamed() throws {
        var absent = try pristine()
        absent.remove(["memory", "total_bytes", "source"])
        XCTAssertEqual(try refusal(absent), .missingField(file: "Devices/broken.json", field: "memory.total_bytes.source"))

        var empty = try pristine()
        empty.set(["cpu", "core_classes", 0, "kernels", 1, "matmul_gflops", "source"], .string("   "))
        let error = try refusal(empty)
        guard case let .invalidValue(_, field, reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(field, "cpu.core_classes[0].kernels[1].matmul_gflops.source")
        XCTAssertTrue(reason.contains("source"), reason)
    }

    func testNonPositiveValueIsNamed() throws {
        var json = try pristine()
        json.set(["storage", 1, "sequential_read_gb_per_s", "value"], .int(0))
        guard case let .invalidValue(_, field, _)? = try refusal(json) else { return XCTFail() }
        XCTAssertEqual(field, "storage[1].sequential_read_gb_per_s.value")
    }

    func testUnknownSchemaVersionIsRefusedWithItsNumber() throws {
        var json = try pristine()
        json.set(["schema_version"], .int(3))
        let error = try refusal(json)
        guard case let .unsupportedSchema(_, found)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(found.contains("version 3"), found)
        XCTAssertTrue("\(error!)".contains("version 3"), "\(error!)")

        var other = try pristine()
        other.set(["schema"], .string("something-else"))
        guard case .unsupportedSchema? = try refusal(other) else { return XCTFail() }
    }

    func testCPUInTwoClassesIsNamed() throws {
        var json = try pristine("core-ultra-7-155h-laptop")
        // Put P-core CPU 0 into the efficiency class as well.
        guard case let .array(cpus)? = json[["cpu", "core_classes", 1, "cpus"]] else { return XCTFail() }
        json.set(["cpu", "core_classes", 1, "cpus"], .array(cpus + [.int(0)]))
        let error = try refusal(json)
        XCTAssertEqual(error, .invalidValue(file: "Devices/broken.json", field: "cpu.core_classes[1].cpus",
                                            reason: "CPU 0 is in two classes"))
    }

    func testCPUInNoNodeIsNamed() throws {
        var json = try pristine()
        json.set(["numa", "nodes", 0, "cpus"], .array([.int(0), .int(1), .int(2)]))
        guard case let .invalidValue(_, field, reason)? = try refusal(json) else { return XCTFail() }
        XCTAssertEqual(field, "numa.nodes")
        XCTAssertTrue(reason.contains("CPU 3"), reason)
    }

    func testSharedGPUCannotExceedHostMemory() throws {
        var json = try pristine("jetson-orin-nano-8gb")
        json.set(["gpus", 0, "memory_bytes", "value"], .int(16_000_000_000))
        guard case let .invalidValue(_, field, _)? = try refusal(json) else { return XCTFail() }
        XCTAssertEqual(field, "gpus[0].memory_bytes.value")
    }
}

// MARK: - A JSON value that round-trips numbers exactly, for writing broken variants

private enum JSON: Codable, Equatable {
    case object([String: JSON])
    case array([JSON])
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int.self) { self = .int(i); return }
        if let d = try? c.decode(Double.self) { self = .double(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSON].self) { self = .array(a); return }
        self = .object(try c.decode([String: JSON].self))
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .object(o): try c.encode(o)
        case let .array(a): try c.encode(a)
        case let .string(s): try c.encode(s)
        case let .int(i): try c.encode(i)
        case let .double(d): try c.encode(d)
        case let .bool(b): try c.encode(b)
        case .null: try c.encodeNil()
        }
    }

    /// A path component: a `String` key or an `Int` index.
    subscript(path: [any Sendable]) -> JSON? {
        guard let head = path.first else { return self }
        let rest = Array(path.dropFirst())
        switch (self, head) {
        case let (.object(o), key as String): return o[key]?[rest]
        case let (.array(a), i as Int) where a.indices.contains(i): return a[i][rest]
        default: return nil
        }
    }

    /// Replaces (or, with nil, removes) the value at `path`.
    mutating func update(_ path: [any Sendable], _ value: JSON?) {
        guard let head = path.first else { if let value { self = value }; return }
        let rest = Array(path.dropFirst())
        switch (self, head) {
        case (.object(var o), let key as String):
            if rest.isEmpty {
                o[key] = value
            } else if var child = o[key] {
                child.update(rest, value)
                o[key] = child
            }
            self = .object(o)
        case (.array(var a), let i as Int) where a.indices.contains(i):
            if rest.isEmpty {
                if let value { a[i] = value } else { a.remove(at: i) }
            } else {
                a[i].update(rest, value)
            }
            self = .array(a)
        default:
            XCTFail("no value at \(path)")
        }
    }

    mutating func set(_ path: [any Sendable], _ value: JSON) { update(path, value) }
    mutating func remove(_ path: [any Sendable]) { update(path, nil) }

    /// Calls `body` with the path and source of every `{"value", "source"}` object.
    func forEachFigure(_ path: String = "", _ body: (String, String) -> Void) {
        switch self {
        case let .object(o):
            if o["value"] != nil, case let .string(source)? = o["source"] {
                body(path, source)
                return
            }
            if o["value"] != nil { body(path, ""); return }
            for (k, v) in o.sorted(by: { $0.key < $1.key }) { v.forEachFigure(path.isEmpty ? k : "\(path).\(k)", body) }
        case let .array(a):
            for (i, v) in a.enumerated() { v.forEachFigure("\(path)[\(i)]", body) }
        default:
            break
        }
    }
}
