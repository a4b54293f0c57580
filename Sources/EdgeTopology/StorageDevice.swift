import Foundation

/// The block device holding a directory, found through `st_dev` -> `/sys/dev/block/MAJ:MIN`.
public struct StorageDevice: Sendable, Equatable {
    /// The whole disk's name (`vda`, `nvme0n1`, `mmcblk0`), or `unknown`.
    public var name: String
    /// `nvme`, `ssd`, `hdd`, `emmc`, `sd`, `ufs`, `virtio` or `other` (see ``locate(directory:in:)``).
    public var kind: String

    public init(name: String, kind: String) {
        self.name = name
        self.kind = kind
    }

    /// The device holding `directory`. A partition (`vda1`) is reported as its disk (`vda`). The kind
    /// comes from the name's prefix (`nvme` -> nvme, `vd` -> virtio, `mmcblk` -> emmc, or sd when
    /// its `device/type` says SD), else from `queue/rotational` (`sd*`: 1 -> hdd, 0 -> ssd). A file
    /// system without a block device (tmpfs, overlay, NFS) gives `unknown` / `other`.
    public static func locate(directory: String, in system: HostSystem) -> StorageDevice {
        guard let dev = system.deviceNumber(ofPath: directory), dev.major != 0,
              var sysPath = system.resolvePath("/sys/dev/block/\(dev.major):\(dev.minor)") else {
            return StorageDevice(name: "unknown", kind: "other")
        }
        if system.readFile(sysPath + "/partition") != nil {
            sysPath = (sysPath as NSString).deletingLastPathComponent
        }
        let name = (sysPath as NSString).lastPathComponent
        func attribute(_ rel: String) -> String? {
            system.readFile(sysPath + "/" + rel)?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let kind: String
        if name.hasPrefix("nvme") {
            kind = "nvme"
        } else if name.hasPrefix("vd") {
            kind = "virtio"
        } else if name.hasPrefix("mmcblk") {
            kind = attribute("device/type") == "SD" ? "sd" : "emmc"
        } else if name.hasPrefix("sd") {
            kind = attribute("queue/rotational") == "1" ? "hdd" : "ssd"
        } else {
            kind = "other"
        }
        return StorageDevice(name: name, kind: kind)
    }
}
