import GANData
import Testing

/// `data.resize`: bilinear with half-pixel centres, the values PyTorch's
/// `F.interpolate(x, size, mode="bilinear", align_corners=False)` gives, rounded to bytes (the
/// expected numbers below were computed with torch 2.13).
@Suite struct ImageResizeTests {
    let image: [UInt8] = [0, 100, 30, 200, 255, 7]   // one 2x3 image

    @Test(arguments: [
        (4, [0, 63, 74, 30, 50, 105, 96, 24, 150, 191, 140, 13, 200, 234, 162, 7] as [UInt8]),
        (1, [178]),
        (5, [0, 40, 100, 58, 30, 20, 58, 116, 63, 28, 100, 131, 178, 82, 19, 180, 204, 240, 101, 9, 200, 222, 255, 106, 7]),
    ])
    func matchesPyTorch(side: Int, expected: [UInt8]) {
        #expect(ImageResize.bilinear(image, count: 1, channels: 1, height: 2, width: 3, to: side) == expected)
    }

    @Test func fashionSizeTo64AndChannelsAreIndependent() {
        // 28x28 -> 64x64 of (i mod 256), as prep resizes Fashion-MNIST for the 64x64 DCGAN.
        let x = (0..<784).map { UInt8($0 % 256) }
        let y = ImageResize.bilinear(x, count: 1, channels: 1, height: 28, width: 28, to: 64)
        #expect(y.count == 4096 && y.reduce(0) { $0 + Int($1) } == 512_539)
        #expect(Array(y.prefix(8)) == [0, 0, 1, 1, 1, 2, 2, 3] && Array(y.suffix(8)) == [12, 13, 13, 14, 14, 14, 15, 15])
        // Two images of two channels: each plane resized on its own.
        let planes = image + image.map { 255 - $0 } + image.reversed() + image
        let out = ImageResize.bilinear(planes, count: 2, channels: 2, height: 2, width: 3, to: 4)
        #expect(Array(out.prefix(16)) == ImageResize.bilinear(image, count: 1, channels: 1, height: 2, width: 3, to: 4))
        #expect(Array(out.suffix(16)) == Array(out.prefix(16)))
        #expect(ImageResize.bilinear(x, count: 1, channels: 1, height: 28, width: 28, to: 28) == x)
    }
}
