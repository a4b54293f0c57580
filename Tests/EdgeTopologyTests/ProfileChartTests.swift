import EdgeCore
import EdgeTopology
import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The profile chart is well-formed SVG, draws one line per measured series, says what a profile
/// lacks, escapes the profile's text and never writes a non-finite number.
final class ProfileChartTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testAVersion2ProfileDrawsOneLinePerSeriesAndMarksTheCaches() throws {
        let svg = ProfileChart.svg(Self.version2Profile())
        let doc = try SVGOutline(svg)
        XCTAssertEqual(doc.root, "svg")
        XCTAssertEqual(doc.rootAttributes["xmlns"], "http://www.w3.org/2000/svg")
        XCTAssertNotNil(doc.rootAttributes["viewBox"])
        // Memory: one core and all cores for each of the two nodes; disk: one line per queue depth (1, 4, 8).
        XCTAssertEqual(doc.count("polyline", inGroup: "memory"), 4)
        XCTAssertEqual(doc.count("polyline", inGroup: "storage-0"), 3)
        XCTAssertEqual(doc.count("polyline", inGroup: "kernels-0"), 0)
        // Kernels: three weight types, in cache and from DRAM side by side, then matmul, plus 3 legend swatches.
        XCTAssertEqual(doc.count("rect", inGroup: "kernels-0"), 3 * 2 + 3 + 3)
        for label in ["L1 32 KiB", "L2 512 KiB", "L3 32 MiB", "16 KiB", "1 GiB", "256 KiB", "16 MiB",
                      "1 in flight", "4 in flight", "8 in flight", "node 1, all 4 cores",
                      "matvec, weights from DRAM", "Q4_K", "read GB/s", "GFLOP/s"] {
            XCTAssertTrue(doc.texts.contains(label), "no text '\(label)'")
        }
        XCTAssertTrue(doc.texts.contains("Host profile: test-host"))
        XCTAssertTrue(doc.texts.contains { $0.contains("2026-01-02T03:04:05Z") })
        XCTAssertFalse(doc.texts.contains { $0.contains("not measured") || $0.contains("Not measured") })
        XCTAssertEqual(svg, ProfileChart.svg(Self.version2Profile()), "the same profile gives the same bytes")
    }

    func testALineRunsLeftToRightAndStaysInsideThePlot() throws {
        let doc = try SVGOutline(ProfileChart.svg(Self.version2Profile()))
        let lines = doc.elements.filter { $0.name == "polyline" }
        XCTAssertFalse(lines.isEmpty)
        for line in lines {
            let points = try XCTUnwrap(line.attributes["points"]).split(separator: " ").map { pair in
                pair.split(separator: ",").compactMap { Double($0) }
            }
            XCTAssertTrue(points.allSatisfy { $0.count == 2 })
            let xs = points.map { $0[0] }
            XCTAssertEqual(xs, xs.sorted(), "a size curve is drawn in size order")
            XCTAssertTrue(points.allSatisfy { $0[1] >= 0 })
        }
    }

    func testAVersion1ProfileSaysItsCurvesWereNotMeasured() throws {
        // The AVX-512 EPYC's profile as it was committed before version 2 (kept as a fixture: the
        // host's own profile has since been re-measured).
        let data = try Data(contentsOf: Self.root.appendingPathComponent("Tests/EdgeTopologyTests/fixtures/amd-epyc-2c-v1.json"))
        let profile = try HostProfile.decode(data, file: "amd-epyc-2c-v1.json")
        XCTAssertEqual(profile.schemaVersion, 1)
        let doc = try SVGOutline(ProfileChart.svg(profile))
        XCTAssertEqual(doc.root, "svg")
        XCTAssertEqual(doc.count("polyline"), 0)
        XCTAssertTrue(doc.texts(inGroup: "memory").contains { $0.hasPrefix("Not measured") })
        XCTAssertTrue(doc.texts(inGroup: "storage-0").contains { $0.hasPrefix("Not measured") })
        XCTAssertTrue(doc.texts(inGroup: "kernels-0").contains { $0.contains("DRAM: not measured") })
        // The figures a version 1 profile has are still shown.
        XCTAssertTrue(doc.texts(inGroup: "memory").contains { $0.contains("38.17 GB/s one core") && $0.contains("72.67 GB/s all 2 cores") })
        XCTAssertTrue(doc.texts(inGroup: "storage-0").contains { $0.contains("1.27 GB/s") })
        XCTAssertEqual(doc.count("rect", inGroup: "kernels-0"), 11 + 11 + 2, "11 matvec and 11 matmul bars, 2 legend swatches")
    }

    func testASpecWithoutStorageSaysSo() throws {
        var profile = Self.version2Profile()
        profile.storage = []
        profile.kind = .spec
        let doc = try SVGOutline(ProfileChart.svg(profile))
        XCTAssertEqual(doc.texts(inGroup: "storage"), ["Disk read rate against request size", "No storage in this profile."])
    }

    func testProfileTextIsEscaped() throws {
        var profile = Self.version2Profile()
        let name = "a<&>\"'b"
        profile.host.name = name
        profile.host.description = "desc </text><script>alert(1)</script> & more"
        profile.cpu.model = "Model \u{7} with a bell"
        profile.numa.nodes[0].readCurve![0].oneCoreGBPerS.source = "cited <https://example.com/?a=1&b=2>"
        let svg = ProfileChart.svg(profile)
        XCTAssertFalse(svg.contains(name))
        XCTAssertFalse(svg.contains("<script>"))
        let doc = try SVGOutline(svg)
        XCTAssertEqual(doc.root, "svg")
        XCTAssertTrue(doc.texts.contains("Host profile: \(name)"))
        XCTAssertEqual(doc.titles.first, "Host profile: \(name)")
        XCTAssertTrue(doc.texts.contains { $0.contains("cited <https://example.com/?a=1&b=2>") })
        XCTAssertEqual(doc.count("script"), 0)
    }

    func testNonFiniteValuesAreLeftOut() throws {
        var profile = Self.version2Profile()
        profile.numa.nodes[0].readCurve![3].oneCoreGBPerS.value = .nan
        profile.numa.nodes[0].readCurve![4].allCoresGBPerS.value = .infinity
        profile.numa.nodes[0].readCurve![5].oneCoreGBPerS.value = -2
        profile.numa.nodes[0].readCurve![6].workingSetBytes = 0
        // Every point of node 1's one-core line: that line is not drawn at all.
        for k in profile.numa.nodes[1].readCurve!.indices { profile.numa.nodes[1].readCurve![k].oneCoreGBPerS.value = .nan }
        profile.numa.nodes[0].readGBPerSOneCore.value = -.infinity
        profile.cpu.caches![1].bytes.value = .nan
        profile.cpu.coreClasses[0].kernels[0].matvecGBPerS.value = .infinity
        profile.cpu.coreClasses[0].kernels[1].matmulGflops.value = .nan
        profile.storage[0].readCurve![0].gbPerS.value = .nan
        profile.storage[0].sequentialReadGBPerS.value = .infinity
        profile.memory.totalBytes.value = .nan
        let svg = ProfileChart.svg(profile)
        XCTAssertNil(svg.range(of: #"\b(nan|inf|infinity)\b"#, options: [.regularExpression, .caseInsensitive]),
                     "a non-finite number reached the document")
        let doc = try SVGOutline(svg)
        let numeric: Set<String> = ["x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height", "font-size", "stroke-width"]
        for element in doc.elements {
            for (key, value) in element.attributes where numeric.contains(key) {
                XCTAssertNotNil(Double(value).flatMap { $0.isFinite ? $0 : nil }, "\(element.name) \(key)=\(value)")
            }
            if let points = element.attributes["points"] {
                let numbers = points.split(whereSeparator: { $0 == " " || $0 == "," })
                XCTAssertTrue(numbers.allSatisfy { Double($0)?.isFinite == true }, points)
            }
        }
        XCTAssertEqual(doc.count("polyline", inGroup: "memory"), 3)
        XCTAssertFalse(doc.texts.contains("L2 512 KiB"))
        XCTAssertTrue(doc.texts.contains("L3 32 MiB"))
        XCTAssertTrue(doc.texts(inGroup: "memory").contains { $0.contains("left out") })
    }

    // MARK: - A version 2 profile

    /// Two nodes of 4 CPUs with read curves from 16 KiB to 1 GiB, three cache levels, three weight
    /// types with from-DRAM rates, one NVMe disk measured at 1, 4 and 8 in flight, 256 KiB to 16 MiB.
    static func version2Profile() -> HostProfile {
        func f(_ v: Double) -> Figure { .measured(v, "test") }
        func size(_ v: Int) -> Figure { f(Double(v)) }
        let sizes = (14...30).map { 1 << $0 }
        func curve(scale: Double) -> [HostProfile.ReadPoint] {
            sizes.map { size in
                // ~100 GB/s in L1 falling to ~10 GB/s from DRAM.
                let one = 10 + 90 / (1 + Double(size) / Double(1 << 20))
                return HostProfile.ReadPoint(workingSetBytes: size, oneCoreGBPerS: f(one * scale), allCoresGBPerS: f(one * scale * 3))
            }
        }
        let kernels = ["Q4_0", "Q4_K", "Q8_0"].enumerated().map { i, type in
            HostProfile.KernelSpeed(weightType: type, matvecGBPerS: f(20 + Double(i) * 5), matmulGflops: f(100 + Double(i) * 10),
                                    matvecDRAMGBPerS: f(9 + Double(i)))
        }
        let disk = [1, 4, 8].flatMap { depth in
            (18...24).map { e in
                HostProfile.DiskPoint(requestBytes: 1 << e, inFlight: depth, gbPerS: f(min(0.2 * Double(depth) * Double(e - 17), 3.2)))
            }
        }
        return HostProfile(
            kind: .measured,
            host: .init(name: "test-host", description: "A test host", created: "2026-01-02T03:04:05Z", tool: "edgert profile"),
            cpu: .init(model: "Test CPU", architecture: "x86_64", features: ["avx2"], hybrid: false,
                       coreClasses: [.init(type: "uniform", cpus: Array(0..<8), relativeSpeed: f(1), kernels: kernels)],
                       caches: [.init(level: 1, bytes: size(32 << 10), sharedByCPUs: 1),
                                .init(level: 2, bytes: size(512 << 10), sharedByCPUs: 1),
                                .init(level: 3, bytes: size(32 << 20), sharedByCPUs: 8)]),
            memory: .init(totalBytes: size(64 << 30), availableBytes: size(60 << 30)),
            numa: .init(nodes: [.init(id: 0, cpus: [0, 1, 2, 3], memoryBytes: size(32 << 30), readGBPerSOneCore: f(10),
                                      readGBPerSAllCores: f(30), readCurve: curve(scale: 1)),
                                .init(id: 1, cpus: [4, 5, 6, 7], memoryBytes: size(32 << 30), readGBPerSOneCore: f(9),
                                      readGBPerSAllCores: f(28), readCurve: curve(scale: 0.9))],
                        distances: [[10, 21], [21, 10]], crossNodeReadGBPerS: f(7)),
            storage: [.init(name: "nvme0n1", kind: "nvme", path: "/models", sequentialReadGBPerS: f(3.1),
                            random4KLatencyUs: .init(p50: f(60), p90: f(80), p99: f(120)), readCurve: disk)],
            gpus: [])
    }
}

/// An SVG document as XMLParser reads it: its elements in document order, each with the ids of
/// the groups around it, and its text nodes. Parsing fails the test if the document is not XML.
private struct SVGOutline {
    struct Element {
        var name: String
        var attributes: [String: String]
        /// Ids of the enclosing `<g>` elements, outermost first.
        var groups: [String]
    }

    struct ParseFailure: Error, CustomStringConvertible {
        var description: String
    }

    var root = ""
    var rootAttributes: [String: String] = [:]
    var elements: [Element] = []
    /// The content of each `<text>` element with the ids of its groups.
    var textNodes: [(text: String, groups: [String])] = []
    /// The content of each `<title>` element, in order.
    var titles: [String] = []

    var texts: [String] { textNodes.map(\.text) }

    init(_ svg: String) throws {
        let reader = Reader()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = reader
        guard parser.parse() else {
            throw ParseFailure(description: "not XML: \(parser.parserError.map { "\($0)" } ?? "unknown error") at line \(parser.lineNumber)")
        }
        self = reader.outline
    }

    private init() {}

    func count(_ name: String, inGroup group: String? = nil) -> Int {
        elements.filter { $0.name == name && (group == nil || $0.groups.contains(group!)) }.count
    }

    func texts(inGroup group: String) -> [String] {
        textNodes.filter { $0.groups.contains(group) }.map(\.text)
    }

    private final class Reader: NSObject, XMLParserDelegate {
        var outline = SVGOutline()
        private var stack: [(name: String, id: String?)] = []
        private var characters = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if stack.isEmpty {
                outline.root = name
                outline.rootAttributes = attributes
            }
            let groups = stack.filter { $0.name == "g" }.compactMap(\.id)
            outline.elements.append(Element(name: name, attributes: attributes, groups: groups))
            stack.append((name, attributes["id"]))
            characters = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { characters += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            stack.removeLast()
            let groups = stack.filter { $0.name == "g" }.compactMap(\.id)
            if name == "text" { outline.textNodes.append((characters, groups)) }
            if name == "title" { outline.titles.append(characters) }
            characters = ""
        }
    }
}
