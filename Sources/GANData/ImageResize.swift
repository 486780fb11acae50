/// Resizing of uint8 images `[count, C, H, W]` (prep's `data.resize`).
public enum ImageResize {
    /// Every image resized to `side` x `side` by bilinear interpolation with half-pixel centres,
    /// as PyTorch's `interpolate(mode="bilinear", align_corners=False)` (no antialiasing): output
    /// pixel y samples the input at (y + 0.5)·H/side - 0.5, clamped to the image; values rounded
    /// to the nearest byte.
    public static func bilinear(_ bytes: [UInt8], count: Int, channels: Int, height: Int, width: Int, to side: Int) -> [UInt8] {
        precondition(count >= 0 && channels >= 1 && height >= 1 && width >= 1 && side >= 1 && bytes.count == count * channels * height * width,
                     "ImageResize.bilinear: \(bytes.count) bytes for \(count) images [\(channels), \(height), \(width)]")
        if height == side && width == side { return bytes }
        let ys = taps(from: height, to: side), xs = taps(from: width, to: side)
        var out = [UInt8](repeating: 0, count: count * channels * side * side)
        bytes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for plane in 0..<(count * channels) {
                    let s = src.baseAddress! + plane * height * width, d = dst.baseAddress! + plane * side * side
                    for (y, ty) in ys.enumerated() {
                        let r0 = s + ty.low * width, r1 = s + ty.high * width
                        for (x, tx) in xs.enumerated() {
                            let top = (1 - tx.weight) * Double(r0[tx.low]) + tx.weight * Double(r0[tx.high])
                            let bottom = (1 - tx.weight) * Double(r1[tx.low]) + tx.weight * Double(r1[tx.high])
                            let v = (1 - ty.weight) * top + ty.weight * bottom
                            d[y * side + x] = UInt8(min(255, max(0, (v + 0.5).rounded(.down))))
                        }
                    }
                }
            }
        }
        return out
    }

    /// For each output index, the two input indices it blends and the second one's weight.
    static func taps(from input: Int, to output: Int) -> [(low: Int, high: Int, weight: Double)] {
        let scale = Double(input) / Double(output)
        return (0..<output).map { o in
            let source = max((Double(o) + 0.5) * scale - 0.5, 0)
            let low = min(Int(source), input - 1)
            return (low, min(low + 1, input - 1), source - Double(low))
        }
    }
}
