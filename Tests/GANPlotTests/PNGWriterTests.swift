import Foundation
import GANFiles
import Testing
@testable import GANPlot

@Suite struct PNGWriterTests {
    @Test func rgbBytesDecodeExactly() throws {
        // 3×2 RGB: distinct values in every byte.
        let pixels: [UInt8] = (0..<18).map { UInt8($0 * 13 + 1) }
        let png = try DecodedPNG(PNGWriter.encodeRGB(pixels, width: 3, height: 2))
        #expect(png.chunks.map(\.type) == ["IHDR", "IDAT", "IEND"])
        #expect((png.width, png.height) == (3, 2))
        #expect([png.bitDepth, png.colorType, png.compression, png.filter, png.interlace] == [8, 2, 0, 0, 0] as [Int])
        #expect(png.filterBytes == [0, 0])
        #expect(png.raw == [0] + Array(pixels[0..<9]) + [0] + Array(pixels[9..<18]))
        #expect(png.pixels == pixels)
    }

    @Test func grayBytesDecodeExactly() throws {
        let pixels: [UInt8] = [0, 64, 128, 255, 1, 2, 3, 4, 250, 251, 252, 253]
        let png = try DecodedPNG(PNGWriter.encodeGray(pixels, width: 4, height: 3))
        #expect((png.width, png.height, png.colorType, png.bitDepth) == (4, 3, 0, 8))
        #expect(png.filterBytes == [0, 0, 0])
        #expect(png.pixels == pixels)
    }

    @Test func largerImageRoundTrips() throws {
        var c = Canvas(width: 97, height: 61, background: RGB(10, 20, 30))
        c.fillRect(x: 5, y: 7, width: 40, height: 30, .orange)
        c.drawLine(x0: 0, y0: 0, x1: 96, y1: 60, .blue, thickness: 2)
        let png = try DecodedPNG(c.pngData())
        #expect((png.width, png.height, png.colorType) == (97, 61, 2))
        #expect(png.pixels == c.pixels)
    }

    @Test func writesCrashSafelyAndReportsPath() throws {
        let dir = try temporaryDirectory("png")
        let path = dir + "/a.png"
        let image = PixelImage(width: 2, height: 1, format: .gray8, pixels: [7, 200])
        try image.write(to: path)
        #expect(try DecodedPNG(readBytes(path)).pixels == [7, 200])
        #expect(!FileManager.default.fileExists(atPath: dir + "/.a.png.tmp"))
        // Overwrite in place.
        try PixelImage(width: 2, height: 1, format: .gray8, pixels: [9, 9]).write(to: path)
        #expect(try DecodedPNG(readBytes(path)).pixels == [9, 9])

        let missing = dir + "/no/such/dir/b.png"
        do {
            try image.write(to: missing)
            Issue.record("expected an error")
        } catch let e as FileWriteError {
            #expect(e.path == missing)
            #expect(e.description == "\(missing): cannot write: directory \(dir)/no/such/dir does not exist")
            #expect(!e.description.contains("\n"))
        }
    }

    @Test func pythonPILDecodesIfAvailable() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import PIL"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { return }  // optional cross-check: no PIL, nothing to do
        let path = try temporaryDirectory("pil") + "/x.png"
        try PixelImage(width: 3, height: 1, format: .rgb8, pixels: [1, 2, 3, 4, 5, 6, 7, 8, 9]).write(to: path)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sys; from PIL import Image; im = Image.open(sys.argv[1]); "
            + "assert im.size == (3, 1) and im.mode == 'RGB' and list(im.getdata()) == [(1,2,3),(4,5,6),(7,8,9)]", path]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }
}
