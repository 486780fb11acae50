/// Tiles N small images (e.g. generated Fashion-MNIST samples) into one picture, like torchvision's
/// `make_grid`: `rows`×`columns` tiles with `padding` px between them and around the border, each
/// tile pixel upscaled to `scale`×`scale` (the padding is not scaled). Row-major: image i goes to
/// row i / columns, column i % columns.
public struct ImageGrid: Sendable {
    /// nil = chosen near-square: columns = ⌈√N⌉, rows = ⌈N / columns⌉ (or derived from the other).
    public var rows: Int?
    public var columns: Int?
    public var padding: Int
    public var scale: Int
    /// Grey level (0…1) of the padding and of empty cells.
    public var padValue: Float
    /// Input values mapped to black and white (values outside are clamped; NaN is black). Use
    /// -1...1 for tanh outputs.
    public var valueRange: ClosedRange<Float>

    public init(rows: Int? = nil, columns: Int? = nil, padding: Int = 2, scale: Int = 1,
                padValue: Float = 0.5, valueRange: ClosedRange<Float> = 0...1) {
        precondition(padding >= 0 && scale >= 1, "ImageGrid: padding \(padding) must be >= 0 and scale \(scale) >= 1")
        self.rows = rows
        self.columns = columns
        self.padding = padding
        self.scale = scale
        self.padValue = padValue
        self.valueRange = valueRange
    }

    /// (rows, columns) used for `count` images. With both fixed and rows·columns < count, only the
    /// first rows·columns images are shown.
    public func shape(count n: Int) -> (rows: Int, columns: Int) {
        let n = max(n, 1)
        switch (rows, columns) {
        case let (r?, c?): return (max(r, 1), max(c, 1))
        case let (r?, nil): return (max(r, 1), (n + max(r, 1) - 1) / max(r, 1))
        case let (nil, c?): return ((n + max(c, 1) - 1) / max(c, 1), max(c, 1))
        case (nil, nil):
            var c = Int(Double(n).squareRoot().rounded(.down))
            if c * c < n { c += 1 }
            return ((n + c - 1) / c, c)
        }
    }

    /// Top-left pixel of tile (row, column) in the output.
    public func tileOrigin(row: Int, column: Int, tileHeight h: Int, tileWidth w: Int) -> (x: Int, y: Int) {
        (padding + column * (w * scale + padding), padding + row * (h * scale + padding))
    }

    /// Tiles `values`, laid out `[count, channels, height, width]` (channels 1 = grey → a grey image,
    /// 3 = RGB → an RGB image), into one image.
    public func render(_ values: [Float], count: Int, channels: Int, height h: Int, width w: Int) -> PixelImage {
        precondition(channels == 1 || channels == 3, "ImageGrid: channels must be 1 or 3, got \(channels)")
        precondition(count >= 0 && h > 0 && w > 0, "ImageGrid: bad shape [\(count), \(channels), \(h), \(w)]")
        precondition(values.count == count * channels * h * w,
                     "ImageGrid: \(values.count) values for shape [\(count), \(channels), \(h), \(w)]")
        let (r, c) = shape(count: count)
        let outW = c * w * scale + (c + 1) * padding, outH = r * h * scale + (r + 1) * padding
        let lo = valueRange.lowerBound, span = max(valueRange.upperBound - lo, .leastNormalMagnitude)
        func byte(_ v: Float) -> UInt8 {
            let t = (v - lo) / span
            guard !t.isNaN else { return 0 }
            return UInt8((min(max(t, 0), 1) * 255).rounded())
        }
        var pixels = [UInt8](repeating: byte(lo + padValue * span), count: outW * outH * channels)
        let plane = h * w
        for i in 0..<min(count, r * c) {
            let (ox, oy) = tileOrigin(row: i / c, column: i % c, tileHeight: h, tileWidth: w)
            for ch in 0..<channels {
                let base = (i * channels + ch) * plane
                for y in 0..<h {
                    for x in 0..<w {
                        let b = byte(values[base + y * w + x])
                        for dy in 0..<scale {
                            let row = (oy + y * scale + dy) * outW
                            for dx in 0..<scale { pixels[(row + ox + x * scale + dx) * channels + ch] = b }
                        }
                    }
                }
            }
        }
        return PixelImage(width: outW, height: outH, format: channels == 1 ? .gray8 : .rgb8, pixels: pixels)
    }

    /// One-call form: tiles and returns the image (write it with `.write(to:)`).
    public static func tile(_ values: [Float], count: Int, channels: Int = 1, height: Int, width: Int,
                            rows: Int? = nil, columns: Int? = nil, padding: Int = 2, scale: Int = 1) -> PixelImage {
        ImageGrid(rows: rows, columns: columns, padding: padding, scale: scale)
            .render(values, count: count, channels: channels, height: height, width: width)
    }
}
