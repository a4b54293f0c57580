import EdgeCore
import Foundation

/// The GPUs a host shows, from the drivers' files: `/proc/driver/nvidia/gpus/*/information`
/// (NVIDIA's driver) and `/sys/class/drm/card*/device` with the `amdgpu` driver
/// (`mem_info_vram_total`). Other display devices (virtual consoles, integrated Intel graphics) are
/// not listed: edgert has no backend for them.
///
/// edgert has no GPU backend yet, so nothing here is measured on the GPU: memory comes from the
/// driver; the PCIe link's bandwidth is estimated from the negotiated speed and width; memory
/// bandwidth and FP16 throughput are not known from the driver and are written as placeholders
/// (value 1, source `estimate: unknown …`) for a person to replace from the spec sheet.
public enum GPUInventory {
    public static func list(in system: HostSystem) -> (gpus: [HostProfile.GPU], notes: [String]) {
        var gpus: [HostProfile.GPU] = []
        var notes: [String] = []
        let nvidiaRoot = "/proc/driver/nvidia/gpus"
        for bus in (system.listDirectory(nvidiaRoot) ?? []).sorted() {
            guard let info = system.readFile("\(nvidiaRoot)/\(bus)/information") else { continue }
            let name = CPUIdentity.cpuinfoValue(info, "Model") ?? "NVIDIA GPU"
            let pci = "/sys/bus/pci/devices/\(bus.lowercased())"
            // The NVIDIA driver does not publish the memory size in /proc or /sys.
            let memory = Figure(1, source: "estimate: unknown (the NVIDIA driver's /proc entry does not give the memory size); replace from the spec sheet")
            gpus.append(gpu(id: .gpu(gpus.count), name: name, memory: memory, pci: pci, system: system))
        }
        for card in (system.listDirectory("/sys/class/drm") ?? []).sorted() where isCard(card) {
            let device = "/sys/class/drm/\(card)/device"
            let uevent = system.readFile(device + "/uevent") ?? ""
            let driver = CPUIdentity.cpuinfoValue(uevent.replacingOccurrences(of: "=", with: ":"), "DRIVER") ?? ""
            guard driver == "amdgpu" else {
                if driver == "nvidia" || driver.isEmpty { continue }  // listed above, or no driver
                notes.append("\(card) (driver \(driver)) is not listed: edgert has no backend for it")
                continue
            }
            let vram = system.readFile(device + "/mem_info_vram_total").flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            let name = system.readFile(device + "/product_name").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                .flatMap { $0.isEmpty ? nil : $0 }
                ?? "AMD GPU \(system.readFile(device + "/device")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")"
            let memory = vram > 0
                ? Figure(vram, source: "measured: amdgpu mem_info_vram_total")
                : Figure(1, source: "estimate: unknown (no mem_info_vram_total); replace from the spec sheet")
            let pci = system.resolvePath(device) ?? device
            gpus.append(gpu(id: .gpu(gpus.count), name: name, memory: memory, pci: pci, system: system))
        }
        return (gpus, notes)
    }

    /// `card0`, not `card0-DP-1` (a connector) nor `renderD128`.
    static func isCard(_ name: String) -> Bool {
        name.hasPrefix("card") && name.dropFirst(4).allSatisfy(\.isNumber) && name.count > 4
    }

    private static func gpu(id: DeviceID, name: String, memory: Figure, pci: String, system: HostSystem) -> HostProfile.GPU {
        let unknown = "estimate: unknown (edgert has no GPU backend to measure it); placeholder, replace from the spec sheet"
        return HostProfile.GPU(id: id, name: name, memoryBytes: memory, sharesHostMemory: false,
                               memoryGBPerS: Figure(1, source: unknown), fp16Tflops: Figure(1, source: unknown),
                               linkGBPerS: pcieLink(pci, system))
    }

    /// PCIe bandwidth of one direction from the negotiated link: GT/s per lane × lanes × the line
    /// code's efficiency (8b/10b up to 5 GT/s, 128b/130b from 8 GT/s) / 8 bits.
    static func pcieLink(_ pci: String, _ system: HostSystem) -> Figure {
        let speed = system.readFile(pci + "/current_link_speed").flatMap { Double($0.split(separator: " ").first ?? "") }
        let width = system.readFile(pci + "/current_link_width").flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard let speed, let width, speed > 0, width > 0 else {
            return Figure(1, source: "estimate: unknown (no PCIe link speed in sysfs); placeholder, replace from the spec sheet")
        }
        let efficiency = speed >= 8 ? 128.0 / 130 : 0.8
        let gbps = speed * width * efficiency / 8
        return Figure((gbps * 100).rounded() / 100,
                      source: "estimate: PCIe link \(speed.formatted()) GT/s x\(Int(width)) from sysfs, line code only (real transfers reach ~80% of it)")
    }
}

private extension Double {
    func formatted() -> String { self == rounded() ? String(Int(self)) : String(self) }
}
