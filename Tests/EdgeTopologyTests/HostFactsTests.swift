import EdgeCore
import EdgeTopology
import XCTest

/// Names, disks, GPUs and CPU identity read from fake /proc, /sys and CPUID; and the same readers
/// on this host, cross-checked against what the kernel reports.
final class HostFactsTests: XCTestCase {
    func testHostIdentifierRule() {
        XCTAssertEqual(HostName.identifier(cpuModel: "AMD EPYC 9R45", cpuCount: 2), "amd-epyc-9r45-2c")
        XCTAssertEqual(HostName.identifier(cpuModel: "AMD EPYC", cpuCount: 2), "amd-epyc-2c")
        XCTAssertEqual(HostName.identifier(cpuModel: "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", cpuCount: 12), "intel-core-i7-8700-12c")
        XCTAssertEqual(HostName.identifier(cpuModel: "AMD Ryzen 7 7840U w/ Radeon  780M Graphics", cpuCount: 16), "amd-ryzen-7-7840u-16c")
        XCTAssertEqual(HostName.identifier(cpuModel: "AMD Ryzen 9 5950X 16-Core Processor", cpuCount: 32), "amd-ryzen-9-5950x-32c")
        XCTAssertEqual(HostName.identifier(cpuModel: "11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", cpuCount: 8), "11th-gen-intel-core-i5-1135g7-8c")
        XCTAssertEqual(HostName.identifier(cpuModel: "", cpuCount: 4), "host-4c")
    }

    func testStorageKindFromTheDeviceName() {
        var h = FakeHost()
        let cases: [(String, String?, String, String)] = [
            ("vda", nil, "vda", "virtio"), ("sda", "1", "sda", "hdd"), ("sdb", "0", "sdb", "ssd"),
            ("mmcblk0", nil, "mmcblk0", "emmc"), ("nvme1n1", nil, "nvme1n1", "nvme"), ("dm-0", nil, "dm-0", "other"),
        ]
        for (i, (dev, rotational, name, kind)) in cases.enumerated() {
            let sys = "/sys/devices/x/block/\(dev)"
            h.devices["/d\(i)"] = (8, i)
            h.links["/sys/dev/block/8:\(i)"] = sys
            if let rotational { h.files[sys + "/queue/rotational"] = rotational + "\n" }
            XCTAssertEqual(StorageDevice.locate(directory: "/d\(i)", in: h), StorageDevice(name: name, kind: kind), dev)
        }
        h.files["/sys/devices/x/block/mmcblk0/device/type"] = "SD\n"
        XCTAssertEqual(StorageDevice.locate(directory: "/d3", in: h).kind, "sd")
        h.devices["/tmpfs"] = (0, 45)
        XCTAssertEqual(StorageDevice.locate(directory: "/tmpfs", in: h), StorageDevice(name: "unknown", kind: "other"))
    }

    func testAMDGPUFromDRMAndOtherCardsSkipped() {
        var h = FakeHost()
        h.directories["/sys/class/drm"] = ["card0", "card0-DP-1", "card1", "renderD128", "version"]
        h.files["/sys/class/drm/card0/device/uevent"] = "DRIVER=i915\nPCI_ID=8086:A7A0\n"
        h.files["/sys/class/drm/card1/device/uevent"] = "DRIVER=amdgpu\nPCI_ID=1002:744C\n"
        h.files["/sys/class/drm/card1/device/mem_info_vram_total"] = "25753026560\n"
        h.files["/sys/class/drm/card1/device/product_name"] = "Radeon RX 7900 XTX\n"
        h.links["/sys/class/drm/card1/device"] = "/sys/devices/pci0000:00/0000:03:00.0"
        h.files["/sys/devices/pci0000:00/0000:03:00.0/current_link_speed"] = "8.0 GT/s PCIe\n"
        h.files["/sys/devices/pci0000:00/0000:03:00.0/current_link_width"] = "8\n"
        let (gpus, notes) = GPUInventory.list(in: h)
        XCTAssertEqual(gpus.map(\.name), ["Radeon RX 7900 XTX"])
        XCTAssertEqual(gpus.first?.memoryBytes, Figure(25753026560, source: "measured: amdgpu mem_info_vram_total"))
        XCTAssertEqual(gpus.first?.linkGBPerS.value ?? 0, 7.88, accuracy: 0.01)
        XCTAssertEqual(notes, ["card0 (driver i915) is not listed: edgert has no backend for it"])
        XCTAssertEqual(GPUInventory.list(in: FakeHost()).gpus, [], "no driver files: no GPU")
    }

    func testArmCoreClassesFromCPUCapacity() {
        var h = FakeHost()
        h.architecture = "aarch64"
        h.cpus = Array(0..<8)
        h.files["/proc/cpuinfo"] = "processor\t: 0\nBogoMIPS\t: 48.00\nFeatures\t: fp asimd evtstrm aes asimddp i8mm\nCPU part\t: 0xd0b\n"
        for cpu in 0..<8 { h.files["/sys/devices/system/cpu/cpu\(cpu)/cpu_capacity"] = cpu < 4 ? "414\n" : "1024\n" }
        let id = CPUIdentity.read(from: h, cpus: h.cpus)
        XCTAssertTrue(id.hybrid)
        XCTAssertEqual(id.features, ["neon", "dotprod", "i8mm"])
        XCTAssertEqual(id.classes, [.init(type: "performance", cpus: [4, 5, 6, 7]), .init(type: "efficiency", cpus: [0, 1, 2, 3])])
    }

    // MARK: this host

    func testThisHostsFeaturesAgreeWithTheKernels() throws {
        let host = LinuxHost()
        let id = CPUIdentity.read(from: host, cpus: host.allowedCPUs())
        XCTAssertFalse(id.model.isEmpty)
        guard id.architecture == "x86_64", let cpuinfo = host.readFile("/proc/cpuinfo") else {
            throw XCTSkip("the feature cross-check reads x86 flags")
        }
        // The kernel lists a flag only when the CPU has it and the OS enabled its state.
        let flagsLine = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let flags = Set(flagsLine.split(separator: ":").last?.split(separator: " ").map(String.init) ?? [])
        for f in ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8"] {
            XCTAssertEqual(id.features.contains(f), flags.contains(f), f)
        }
        XCTAssertEqual(id.hybrid, flags.contains("hybrid_cpu"))
        XCTAssertEqual(Set(id.classes.flatMap(\.cpus)), Set(host.allowedCPUs()))
    }

    func testThisHostsNUMAAndMemory() throws {
        let host = LinuxHost()
        let mem = try XCTUnwrap(MemoryFacts.read(from: host))
        XCTAssertGreaterThan(mem.totalBytes, 0)
        XCTAssertLessThanOrEqual(mem.availableBytes, mem.totalBytes)
        guard let numa = host.numa() else { throw XCTSkip("libnuma reports NUMA unavailable") }
        XCTAssertFalse(numa.nodes.isEmpty)
        XCTAssertEqual(numa.distances.count, numa.nodes.count)
        for (i, row) in numa.distances.enumerated() { XCTAssertEqual(row[i], 10, "a node's distance to itself") }
        XCTAssertTrue(Set(host.allowedCPUs()).isSubset(of: Set(numa.nodes.flatMap(\.cpus))))
    }
}
