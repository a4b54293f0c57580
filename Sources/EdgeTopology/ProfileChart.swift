import EdgeCore
import Foundation

/// A ``HostProfile`` drawn for people: one self-contained SVG 1.1 document (no script, no external
/// style or font) that a browser shows as it is.
///
/// The page is a column of panels as wide as the page, each with its legend on the right and the
/// sources of its figures below it:
/// - the header: host name, description, CPU, memory, GPUs, when and by what the profile was made;
/// - memory: read bandwidth against working-set size, one line per NUMA node and core count, on a
///   log2 size axis with the cache levels marked, and the main-memory figures in a note;
/// - kernels, one panel per core class: matvec GB/s with the weights in cache and streamed from
///   DRAM side by side for each weight type, and the matmul GFLOP/s in a smaller chart below;
/// - storage, one panel per device: read rate against request size, one line per queue depth, with
///   the sequential-read figure as a reference line.
///
/// A panel whose data the profile lacks (a version 1 profile has no curves; a spec may have no
/// storage) says so in a line of text instead of drawing.
///
/// The function is pure and deterministic: the same profile gives the same bytes. It reads no
/// clock (the date shown is `host.created`) and no locale (`String(format:)` without a locale
/// writes POSIX numbers). Every text from the profile is XML-escaped. A value that is not a
/// positive finite number is left out and counted in a note, so `nan` and `inf` never reach the
/// document.
public enum ProfileChart {
    /// The profile drawn as an SVG document: read bandwidth against working-set size (one line per
    /// node and core count, log-scale x axis, cache levels marked), kernel rates per weight type
    /// (in-cache and from-DRAM matvec GB/s side by side; matmul GFLOP/s as a second small chart),
    /// and disk read rate against request size (one line per queue depth). A panel whose data the
    /// profile lacks (a version 1 profile, a spec without storage) says so in a line of text
    /// instead of drawing.
    ///
    /// - Parameter profile: the profile to draw; it need not be valid (a value that is not a
    ///   positive finite number is left out, and the note under its panel counts it).
    /// - Returns: the document, UTF-8 text starting with the XML declaration.
    public static func svg(_ profile: HostProfile) -> String {
        var page = Canvas()
        header(profile, &page)
        memoryPanel(profile, &page)
        for (i, coreClass) in profile.cpu.coreClasses.enumerated() {
            kernelPanel(coreClass, index: i, &page)
        }
        storagePanels(profile, &page)

        let height = (page.y + Layout.margin).rounded(.up)
        let title = "Host profile: \(profile.host.name)"
        let description = "\(profile.host.description). \(profile.cpu.model); \(kindWord(profile.kind)) \(profile.host.created) by \(profile.host.tool)."
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(n(Layout.width))" height="\(n(height))" \
            viewBox="0 0 \(n(Layout.width)) \(n(height))" font-family="sans-serif" font-size="12" fill="\(Ink.text)">
            <title>\(escape(title))</title>
            <desc>\(escape(description))</desc>
            <rect x="0" y="0" width="\(n(Layout.width))" height="\(n(height))" fill="#ffffff"/>

            """
        out += page.lines.joined(separator: "\n")
        out += "\n</svg>\n"
        return out
    }
}

// MARK: - Panels

extension ProfileChart {
    /// Host name as the page title, then description, CPU, memory, GPUs and provenance, one line each.
    private static func header(_ p: HostProfile, _ page: inout Canvas) {
        page.y += 26
        page.add(text("Host profile: \(p.host.name)", x: Layout.margin, y: page.y, size: 20, weight: "bold"))
        page.y += 4
        page.note(p.host.description, size: 14)
        let cpus = p.cpu.cpuIDs.count
        var cpu = "CPU: \(p.cpu.model), \(p.cpu.architecture), \(cpus) \(cpus == 1 ? "CPU" : "CPUs")"
        if p.cpu.hybrid { cpu += " in \(p.cpu.coreClasses.count) core classes" }
        if !p.cpu.features.isEmpty { cpu += "; features \(p.cpu.features.joined(separator: ", "))" }
        page.note(cpu)
        var memory = "Memory: \(bytes(p.memory.totalBytes)) total, \(bytes(p.memory.availableBytes)) available"
        memory += p.numa.nodes.count == 1 ? "; one NUMA node" : "; \(p.numa.nodes.count) NUMA nodes"
        page.note(memory)
        if p.gpus.isEmpty {
            page.note("GPUs: none")
        } else {
            let gpus = p.gpus.map { "\($0.id) \($0.name) (\(bytes($0.memoryBytes)), \(rate($0.memoryGBPerS)))" }
            page.note("GPUs: " + gpus.joined(separator: "; "))
        }
        page.note("\(kindWord(p.kind).prefix(1).uppercased() + kindWord(p.kind).dropFirst()) \(p.host.created) by \(p.host.tool); schema version \(p.schemaVersion)",
                  fill: Ink.faint)
    }

    /// Read bandwidth against working-set size for every node that has a curve, with cache marks.
    private static func memoryPanel(_ p: HostProfile, _ page: inout Canvas) {
        page.heading("Memory read bandwidth against working-set size", id: "memory")
        defer { page.endPanel() }
        var sources = SourceList()
        var series: [Series] = []
        var skipped = 0
        var unmeasured: [String] = []
        func append(_ f: Figure, at size: Int, to line: inout Series) {
            guard let v = plottable(f), size > 0 else { skipped += 1; return }
            sources.add(f)
            line.points.append(Series.Point(size: Double(size), value: v))
        }
        for (i, node) in p.numa.nodes.enumerated() {
            guard let curve = node.readCurve, !curve.isEmpty else {
                unmeasured.append("node \(node.id)")
                continue
            }
            // Two colours per node, in node order, so a node keeps its colours whatever the others lack.
            var one = Series(label: "node \(node.id), 1 core", colour: colour(2 * i))
            var all = Series(label: "node \(node.id), all \(cores(node.cpus.count))", colour: colour(2 * i + 1))
            for point in curve {
                append(point.oneCoreGBPerS, at: point.workingSetBytes, to: &one)
                append(point.allCoresGBPerS, at: point.workingSetBytes, to: &all)
            }
            series += [one, all].filter { !$0.points.isEmpty }
        }
        var marks: [Mark] = []
        for cache in p.cpu.caches ?? [] {
            guard let size = plottable(cache.bytes), size >= 1 else { skipped += 1; continue }
            sources.add(cache.bytes)
            marks.append(Mark(size: size, label: "L\(cache.level) \(bytes(size))"))
        }

        if unmeasured.count == p.numa.nodes.count {
            page.note("Not measured: the profile has no read curve (schema version \(p.schemaVersion)).")
            if !marks.isEmpty { page.note("Caches: " + marks.map(\.label).joined(separator: ", ")) }
        } else {
            if !unmeasured.isEmpty { page.note("Not measured for \(unmeasured.joined(separator: ", ")).") }
            lineChart(series: series, marks: marks, references: [], xTitle: "working set (log2 scale)",
                      yTitle: "read GB/s", &page)
        }
        for node in p.numa.nodes {
            let one = plottable(node.readGBPerSOneCore), all = plottable(node.readGBPerSAllCores)
            if one != nil { sources.add(node.readGBPerSOneCore) } else { skipped += 1 }
            if all != nil { sources.add(node.readGBPerSAllCores) } else { skipped += 1 }
            page.note("Node \(node.id) main memory (a buffer far larger than the caches): \(rate(node.readGBPerSOneCore)) one core, "
                      + "\(rate(node.readGBPerSAllCores)) all \(cores(node.cpus.count))")
        }
        if let cross = p.numa.crossNodeReadGBPerS {
            if plottable(cross) != nil { sources.add(cross) } else { skipped += 1 }
            page.note("Across nodes (all cores of one node reading another's memory): \(rate(cross))")
        }
        page.skipped(skipped)
        page.sources(sources)
    }

    /// Matvec rates (in cache and from DRAM) and matmul rates of one core of the class, by weight type.
    private static func kernelPanel(_ coreClass: HostProfile.CoreClass, index: Int, _ page: inout Canvas) {
        page.heading("Kernel rates of one \(coreClass.type) core (CPUs \(ranges(coreClass.cpus)))", id: "kernels-\(index)")
        defer { page.endPanel() }
        let kernels = coreClass.kernels
        guard !kernels.isEmpty else {
            page.note("Not measured: the profile gives no kernel rates for this class.")
            return
        }
        var sources = SourceList()
        var skipped = 0
        func value(_ f: Figure?) -> Double? {
            guard let f else { return nil }
            guard let v = plottable(f) else { skipped += 1; return nil }
            sources.add(f)
            return v
        }
        let types = kernels.map(\.weightType)
        let inCache = kernels.map { value($0.matvecGBPerS) }
        let fromDRAM = kernels.map { value($0.matvecDRAMGBPerS) }
        let matmul = kernels.map { value($0.matmulGflops) }

        var matvec = [Bars(label: "matvec, weights in cache", colour: colour(0), values: inCache)]
        if kernels.contains(where: { $0.matvecDRAMGBPerS != nil }) {
            matvec.append(Bars(label: "matvec, weights from DRAM", colour: colour(1), values: fromDRAM))
        }
        barChart(categories: types, bars: matvec, height: Layout.chartHeight, yTitle: "matvec GB/s", unit: "GB/s", &page)
        if matvec.count == 1 { page.note("Matvec with the weights streamed from DRAM: not measured in this profile.") }
        barChart(categories: types, bars: [Bars(label: "matmul, 64 tokens", colour: colour(2), values: matmul)],
                 height: Layout.smallChartHeight, yTitle: "GFLOP/s", unit: "GFLOP/s", &page)
        page.skipped(skipped)
        page.sources(sources)
    }

    /// One panel per storage device: read rate against request size, one line per queue depth.
    private static func storagePanels(_ p: HostProfile, _ page: inout Canvas) {
        guard !p.storage.isEmpty else {
            page.heading("Disk read rate against request size", id: "storage")
            page.note("No storage in this profile.")
            page.endPanel()
            return
        }
        for (i, disk) in p.storage.enumerated() {
            page.heading("Disk read rate against request size: \(disk.name) (\(disk.kind), \(disk.path))", id: "storage-\(i)")
            var sources = SourceList()
            var skipped = 0
            let curve = disk.readCurve ?? []
            var references: [Reference] = []
            if let v = plottable(disk.sequentialReadGBPerS) {
                sources.add(disk.sequentialReadGBPerS)
                references.append(Reference(value: v, label: "sequential read \(rate(disk.sequentialReadGBPerS))"))
            } else {
                skipped += 1
            }
            if curve.isEmpty {
                page.note("Not measured: the profile has no read curve for this device (schema version \(p.schemaVersion)).")
                page.note("Sequential read (large requests, several in flight): \(rate(disk.sequentialReadGBPerS))")
            } else {
                let depths = Array(Set(curve.map(\.inFlight))).sorted()
                var series: [Series] = []
                for (k, depth) in depths.enumerated() {
                    var s = Series(label: "\(depth) in flight", colour: colour(k))
                    for point in curve.filter({ $0.inFlight == depth }).sorted(by: { $0.requestBytes < $1.requestBytes }) {
                        guard let v = plottable(point.gbPerS), point.requestBytes > 0 else { skipped += 1; continue }
                        sources.add(point.gbPerS)
                        s.points.append(Series.Point(size: Double(point.requestBytes), value: v))
                    }
                    if !s.points.isEmpty { series.append(s) }
                }
                lineChart(series: series, marks: [], references: references, xTitle: "request size (log2 scale)",
                          yTitle: "read GB/s", &page)
            }
            if let l = disk.random4KLatencyUs {
                for f in [l.p50, l.p90, l.p99] {
                    if plottable(f) != nil { sources.add(f) } else { skipped += 1 }
                }
                page.note("4 KiB random reads, one at a time: p50 \(micros(l.p50)), p90 \(micros(l.p90)), p99 \(micros(l.p99))")
            }
            page.skipped(skipped)
            page.sources(sources)
            page.endPanel()
        }
    }
}

// MARK: - Charts

extension ProfileChart {
    /// A line in a chart over byte sizes: points in drawing order, all positive and finite.
    private struct Series {
        struct Point {
            /// Bytes (x, log2 scale).
            var size: Double
            /// The series' unit (y, linear).
            var value: Double
        }

        var label: String
        var colour: String
        var points: [Point] = []
    }

    /// A dashed vertical line at a size, labelled (a cache level).
    private struct Mark {
        var size: Double
        var label: String
    }

    /// A dashed horizontal line at a value, labelled (a headline figure the curve can be read against).
    private struct Reference {
        var value: Double
        var label: String
    }

    /// One bar per category; nil draws none.
    private struct Bars {
        var label: String
        var colour: String
        var values: [Double?]
    }

    /// Lines over a log2 size axis, with marks, references and a legend; a note instead when there
    /// is nothing finite to draw.
    private static func lineChart(series: [Series], marks: [Mark], references: [Reference], xTitle: String, yTitle: String,
                                  _ page: inout Canvas) {
        let top = page.y + 10, bottom = top + Layout.chartHeight
        let sizes = series.flatMap { $0.points.map(\.size) } + marks.map(\.size)
        let values = series.flatMap { $0.points.map(\.value) } + references.map(\.value)
        guard !series.isEmpty,
              let x = LogAxis(sizes: sizes, left: Layout.plotLeft, right: Layout.plotRight),
              let y = LinearAxis(maximum: values.max() ?? 0, bottom: bottom, top: top)
        else {
            page.note("Nothing to draw: no positive finite values.")
            return
        }
        valueAxis(y, title: yTitle, &page)
        sizeAxis(x, bottom: bottom, title: xTitle, &page)
        for (k, mark) in marks.enumerated() {
            let mx = x.x(mark.size)
            page.add(line(x1: mx, y1: top, x2: mx, y2: bottom, stroke: Ink.mark, dash: "5 4"))
            // Stagger the labels so that neighbouring levels do not overprint; near the right edge, write leftwards.
            let ly = top + 12 + 13 * Double(k)
            let nearEdge = mx > Layout.plotRight - 80
            page.add(text(mark.label, x: nearEdge ? mx - 4 : mx + 4, y: ly, size: 11, anchor: nearEdge ? "end" : "start", fill: Ink.mark))
        }
        for reference in references {
            let ry = y.y(reference.value)
            page.add(line(x1: Layout.plotLeft, y1: ry, x2: Layout.plotRight, y2: ry, stroke: Ink.mark, dash: "2 3"))
            page.add(text(reference.label, x: Layout.plotRight - 4, y: ry - 4, size: 11, anchor: "end", fill: Ink.mark))
        }
        for s in series {
            page.add(polyline(s.points.map { (x.x($0.size), y.y($0.value)) }, colour: s.colour, title: s.label))
            for point in s.points {
                let tip = "\(s.label): \(bytes(point.size)), \(decimal(point.value)) GB/s"
                page.add("<circle cx=\"\(n(x.x(point.size)))\" cy=\"\(n(y.y(point.value)))\" r=\"2.5\" fill=\"\(s.colour)\">"
                         + "<title>\(escape(tip))</title></circle>")
            }
        }
        let legendBottom = legend(series.map { ($0.label, $0.colour) }, swatch: .line, top: top, &page)
        page.y = max(bottom + 44, legendBottom)
    }

    /// Grouped bars over categories, with value labels where they fit and a legend; a note instead
    /// when there is nothing finite to draw.
    private static func barChart(categories: [String], bars: [Bars], height: Double, yTitle: String, unit: String,
                                 _ page: inout Canvas) {
        let top = page.y + 10, bottom = top + height
        let values = bars.flatMap { $0.values.compactMap { $0 } }
        guard !categories.isEmpty, !bars.isEmpty, let y = LinearAxis(maximum: values.max() ?? 0, bottom: bottom, top: top) else {
            page.note("Nothing to draw for \(yTitle): no positive finite values.")
            return
        }
        valueAxis(y, title: yTitle, &page)
        let group = (Layout.plotRight - Layout.plotLeft) / Double(categories.count)
        // Bars fill 80% of their group, at most 28 px each, centred in the group.
        let width = min(group * 0.8 / Double(bars.count), 28)
        // Value labels on every bar or on none. At 9 px a digit is ~5.8 px wide and the point ~3 px
        // (0.64 em and 0.32 em in common sans-serif fonts).
        let widest = values.map { decimal($0).reduce(0.0) { width, c in width + (c == "." ? 3 : 5.8) } }.max() ?? 0
        let labelled = width - 1 >= widest
        for (c, category) in categories.enumerated() {
            let centre = Layout.plotLeft + group * (Double(c) + 0.5)
            page.add(line(x1: centre, y1: bottom, x2: centre, y2: bottom + 4, stroke: Ink.axis))
            page.add(text(category, x: centre, y: bottom + 16, size: 11, anchor: "middle"))
            for (b, series) in bars.enumerated() {
                guard let v = series.values[c] else { continue }
                let left = centre - width * Double(bars.count) / 2 + width * Double(b)
                let barTop = y.y(v)
                page.add("<rect x=\"\(n(left))\" y=\"\(n(barTop))\" width=\"\(n(width - 1))\" height=\"\(n(bottom - barTop))\" "
                         + "fill=\"\(series.colour)\"><title>\(escape("\(category) \(series.label): \(decimal(v)) \(unit)"))</title></rect>")
                if labelled {
                    page.add(text(decimal(v), x: left + (width - 1) / 2, y: barTop - 3, size: 9, anchor: "middle", fill: Ink.faint))
                }
            }
        }
        let legendBottom = legend(bars.map { ($0.label, $0.colour) }, swatch: .box, top: top, &page)
        page.y = max(bottom + 26, legendBottom)
    }

    /// A linear value axis: grid lines and labels at each tick, the axis line, the rotated title.
    private static func valueAxis(_ y: LinearAxis, title: String, _ page: inout Canvas) {
        for v in y.ticks {
            let ty = y.y(v)
            page.add(line(x1: Layout.plotLeft, y1: ty, x2: Layout.plotRight, y2: ty, stroke: v == 0 ? Ink.axis : Ink.grid))
            page.add(text(decimal(v), x: Layout.plotLeft - 6, y: ty + 4, size: 11, anchor: "end"))
        }
        page.add(line(x1: Layout.plotLeft, y1: y.top, x2: Layout.plotLeft, y2: y.bottom, stroke: Ink.axis))
        let tx = Layout.plotLeft - 48, ty = (y.top + y.bottom) / 2
        page.add(text(title, x: tx, y: ty, size: 12, anchor: "middle", rotate: true))
    }

    /// A log2 size axis along the bottom: ticks and KiB/MiB/GiB labels at powers of two, the title.
    private static func sizeAxis(_ x: LogAxis, bottom: Double, title: String, _ page: inout Canvas) {
        for e in x.tickExponents {
            let size = pow(2, Double(e))
            let tx = x.x(size)
            page.add(line(x1: tx, y1: bottom, x2: tx, y2: bottom + 4, stroke: Ink.axis))
            page.add(text(bytes(size), x: tx, y: bottom + 16, size: 11, anchor: "middle"))
        }
        page.add(text(title, x: (Layout.plotLeft + Layout.plotRight) / 2, y: bottom + 34, size: 12, anchor: "middle"))
    }

    private enum Swatch { case line, box }

    /// The legend right of the plot, one entry a line from `top`; returns the y below its last entry.
    private static func legend(_ entries: [(label: String, colour: String)], swatch: Swatch, top: Double,
                               _ page: inout Canvas) -> Double {
        var ly = top + 8
        for entry in entries {
            switch swatch {
            case .line:
                page.add(line(x1: Layout.legendLeft, y1: ly - 4, x2: Layout.legendLeft + 22, y2: ly - 4, stroke: entry.colour, width: 2))
            case .box:
                page.add("<rect x=\"\(n(Layout.legendLeft + 6))\" y=\"\(n(ly - 10))\" width=\"10\" height=\"10\" fill=\"\(entry.colour)\"/>")
            }
            page.add(text(entry.label, x: Layout.legendLeft + 28, y: ly, size: 12))
            ly += 18
        }
        return ly
    }

    /// A log2 axis over byte sizes, from the power of two at or below the smallest size to the one
    /// at or above the largest.
    private struct LogAxis {
        let lowExponent: Int
        let highExponent: Int
        let left: Double
        let right: Double

        /// Nil when no size is finite and at least 1 byte.
        init?(sizes: [Double], left: Double, right: Double) {
            let usable = sizes.filter { $0.isFinite && $0 >= 1 }
            guard let low = usable.min(), let high = usable.max() else { return nil }
            lowExponent = Int(log2(low).rounded(.down))
            highExponent = max(Int(log2(high).rounded(.up)), lowExponent + 1)
            self.left = left
            self.right = right
        }

        /// The x of `size`, which must be finite and at least 1.
        func x(_ size: Double) -> Double {
            left + (log2(size) - Double(lowExponent)) / Double(highExponent - lowExponent) * (right - left)
        }

        /// Every power of two, or every second, third… so that at most 9 are labelled.
        var tickExponents: [Int] {
            let step = max(1, (highExponent - lowExponent + 8) / 9)
            return Array(stride(from: lowExponent, through: highExponent, by: step))
        }
    }

    /// A linear value axis from 0 to a round maximum at or above the largest value, in steps of
    /// 1, 2, 2.5 or 5 × 10^k (about five of them), never finer than 0.01 so that two decimals
    /// tell the labels apart.
    private struct LinearAxis {
        let maximum: Double
        let step: Double
        let bottom: Double
        let top: Double

        /// Nil unless `maximum` is positive and finite.
        init?(maximum largest: Double, bottom: Double, top: Double) {
            guard largest.isFinite, largest > 0 else { return nil }
            let rough = largest / 5
            let magnitude = pow(10, log10(rough).rounded(.down))
            // 2.5 × 10^k needs three decimals below k = -1.
            let multiples: [Double] = magnitude >= 0.1 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10]
            let step = max(multiples.map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude, 0.01)
            let maximum = (largest / step).rounded(.up) * step
            guard maximum.isFinite, maximum > 0 else { return nil }
            self.maximum = maximum
            self.step = step
            self.bottom = bottom
            self.top = top
        }

        func y(_ value: Double) -> Double { bottom - value / maximum * (bottom - top) }

        var ticks: [Double] { (0...Int((maximum / step).rounded())).map { Double($0) * step } }
    }
}

// MARK: - Page and elements

extension ProfileChart {
    /// Page geometry in px.
    private enum Layout {
        static let width = 1000.0
        static let margin = 20.0
        /// Room on the left for the value labels and the rotated axis title.
        static let plotLeft = 84.0
        static let plotRight = 740.0
        static let legendLeft = 760.0
        static let chartHeight = 240.0
        static let smallChartHeight = 150.0
        /// Characters per line of 10 px source text (~5.5 px a character, within the page's 960 px).
        static let sourceColumns = 160
    }

    /// Colours other than the series'.
    private enum Ink {
        static let text = "#222222"
        static let faint = "#666666"
        static let axis = "#444444"
        static let grid = "#e3e3e3"
        static let mark = "#777777"
    }

    /// Series colours: Okabe and Ito's palette for colour-blind readers ("Color Universal Design",
    /// 2008) less its yellow, which does not show on white.
    private static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

    private static func colour(_ index: Int) -> String { palette[index % palette.count] }

    /// The document's body being written, top to bottom; `y` is the bottom of what is written so far.
    private struct Canvas {
        var lines: [String] = []
        var y = Layout.margin

        mutating func add(_ element: String) { lines.append(element) }

        /// Opens a panel's group (`id` names it for tests and style sheets) with its bold title.
        mutating func heading(_ title: String, id: String) {
            add("<g id=\"\(id)\">")
            y += 34
            add(ProfileChart.text(title, x: Layout.margin, y: y, size: 15, weight: "bold"))
            y += 4
        }

        mutating func endPanel() { add("</g>") }

        /// A line of text under what is written.
        mutating func note(_ s: String, size: Double = 12, fill: String = Ink.text) {
            y += size + 5
            add(ProfileChart.text(s, x: Layout.margin, y: y, size: size, fill: fill))
        }

        mutating func skipped(_ count: Int) {
            guard count > 0 else { return }
            note("\(count) \(count == 1 ? "value that is not a positive finite number was" : "values that are not positive finite numbers were") left out.",
                 fill: Ink.faint)
        }

        /// The panel's sources, each wrapped to the page width, in small grey text.
        mutating func sources(_ list: SourceList) {
            guard !list.items.isEmpty else { return }
            y += 4
            note("Sources:", size: 10, fill: Ink.faint)
            for source in list.items {
                for (k, part) in ProfileChart.wrap(source, columns: Layout.sourceColumns).enumerated() {
                    note((k == 0 ? "• " : "   ") + part, size: 10, fill: Ink.faint)
                }
            }
        }
    }

    /// The distinct sources of the figures a panel shows, in the order first shown.
    private struct SourceList {
        private(set) var items: [String] = []

        mutating func add(_ figure: Figure) {
            let s = figure.source.trimmingCharacters(in: .whitespacesAndNewlines)
            if !s.isEmpty, !items.contains(s) { items.append(s) }
        }
    }

    /// A `<text>` element; `content` is escaped here, so callers pass profile text as it is.
    private static func text(_ content: String, x: Double, y: Double, size: Double = 12, anchor: String = "start",
                             weight: String? = nil, fill: String? = nil, rotate: Bool = false) -> String {
        var attributes = "x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\""
        if anchor != "start" { attributes += " text-anchor=\"\(anchor)\"" }
        if let weight { attributes += " font-weight=\"\(weight)\"" }
        if let fill { attributes += " fill=\"\(fill)\"" }
        if rotate { attributes += " transform=\"rotate(-90 \(n(x)) \(n(y)))\"" }
        return "<text \(attributes)>\(escape(content))</text>"
    }

    private static func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                             dash: String? = nil) -> String {
        var s = "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\""
        if let dash { s += " stroke-dasharray=\"\(dash)\"" }
        return s + "/>"
    }

    /// One series' line; `title` is its tooltip.
    private static func polyline(_ points: [(x: Double, y: Double)], colour: String, title: String) -> String {
        let coordinates = points.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
        return "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" "
            + "stroke-linejoin=\"round\"><title>\(escape(title))</title></polyline>"
    }
}

// MARK: - Text

extension ProfileChart {
    /// `s` made safe as XML character data or an attribute value: the five markup characters as
    /// entities, and the characters XML 1.0 does not allow even escaped (C0 controls other than tab,
    /// newline and return; U+FFFE, U+FFFF) as U+FFFD. Tab, newline and return become spaces, as a
    /// text element would show them.
    private static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += " "
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out.unicodeScalars.append("\u{FFFD}")
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// A coordinate: one decimal, trailing zeros dropped. Callers pass finite values only.
    private static func n(_ x: Double) -> String { trimmed(String(format: "%.1f", x)) }

    /// A value for people: at most two decimals, trailing zeros dropped (`20.80` -> `20.8`);
    /// `?` for a value that is not finite.
    private static func decimal(_ x: Double) -> String {
        guard x.isFinite else { return "?" }
        return trimmed(String(format: "%.2f", x))
    }

    private static func trimmed(_ formatted: String) -> String {
        var s = formatted
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }

    /// A byte count in binary units (`32 KiB`, `1.25 MiB`); `?` unless positive and finite.
    private static func bytes(_ count: Double) -> String {
        guard count.isFinite, count > 0 else { return "?" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var v = count, u = 0
        while v >= 1024, u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return "\(decimal(v)) \(units[u])"
    }

    private static func bytes(_ f: Figure) -> String { bytes(f.value) }

    /// `14.66 GB/s`, or `?` for a value that is not a positive finite number.
    private static func rate(_ f: Figure) -> String {
        plottable(f).map { "\(decimal($0)) GB/s" } ?? "?"
    }

    private static func micros(_ f: Figure) -> String {
        plottable(f).map { "\(decimal($0)) µs" } ?? "?"
    }

    /// The figure's value when it is positive and finite, the only values drawn.
    private static func plottable(_ f: Figure) -> Double? {
        f.value.isFinite && f.value > 0 ? f.value : nil
    }

    private static func cores(_ count: Int) -> String { count == 1 ? "1 core" : "\(count) cores" }

    private static func kindWord(_ kind: HostProfile.Kind) -> String {
        switch kind {
        case .measured: "measured"
        case .spec: "written from sources"
        case .estimated: "estimated without measuring"
        }
    }

    /// CPU ids as ranges: `[0, 1, 2, 3, 8]` -> `0-3, 8`.
    private static func ranges(_ ids: [Int]) -> String {
        var parts: [String] = []
        var start: Int?, end = 0
        for id in ids.sorted() {
            if start != nil, id == end + 1 {
                end = id
            } else {
                if let s = start { parts.append(s == end ? "\(s)" : "\(s)-\(end)") }
                start = id
                end = id
            }
        }
        if let s = start { parts.append(s == end ? "\(s)" : "\(s)-\(end)") }
        return parts.joined(separator: ", ")
    }

    /// `s` in lines of at most `columns` characters, broken at spaces (a longer word is cut).
    private static func wrap(_ s: String, columns: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in s.split(separator: " ", omittingEmptySubsequences: true) {
            var word = Substring(word)
            while word.count > columns {
                if !current.isEmpty { lines.append(current); current = "" }
                lines.append(String(word.prefix(columns)))
                word = word.dropFirst(columns)
            }
            if current.isEmpty {
                current = String(word)
            } else if current.count + 1 + word.count <= columns {
                current += " " + word
            } else {
                lines.append(current)
                current = String(word)
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}
