import Foundation
import GANNN
import SwiftProtobuf

#if !_endian(little)
#error("ONNX raw_data and safetensors are little-endian; this exporter copies memory as is")
#endif

/// An ONNX graph under construction: nodes in topological order (the order they are added),
/// initializers, and the spellings that depend on the opset. Every method returns the name of
/// the value it produced, so a lowering reads as a chain of calls.
struct ONNXGraph {
    let opset: Int
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var used: Set<String> = []

    /// - Parameter reserved: the graph's input and output names, which no node may take.
    init(opset: Int, reserved: [String]) {
        self.opset = opset
        used = Set(reserved)
    }

    /// A value name not used before: `base`, else `base_2`, `base_3`, ...
    private mutating func fresh(_ base: String) -> String {
        var name = base, k = 1
        while used.contains(name) {
            k += 1
            name = "\(base)_\(k)"
        }
        used.insert(name)
        return name
    }

    /// Adds one node; `name` (unique) names both the node and its single output.
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], name: String, _ attributes: [Onnx_AttributeProto] = []) -> String {
        let out = fresh(name)
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = out
        n.input = inputs
        n.output = [out]
        n.attribute = attributes
        nodes.append(n)
        return out
    }

    /// Makes `x` the graph output `name` (a reserved name): the node that computed `x` is the last
    /// one and nothing reads its output yet, so it is renamed; a graph input gets an Identity.
    mutating func output(_ x: String, as name: String) {
        if let last = nodes.indices.last, nodes[last].output == [x] {
            nodes[last].output = [name]
        } else {
            var n = Onnx_NodeProto()
            (n.opType, n.name, n.input, n.output) = ("Identity", name, [x], [name])
            nodes.append(n)
        }
    }

    /// A float32 initializer (little-endian raw bytes, as ONNX stores them).
    mutating func constant(_ name: String, _ values: [Float], shape: [Int]) -> String {
        precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
        var t = tensor(name, .float, shape)
        t.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
        initializers.append(t)
        return t.name
    }

    /// A float32 initializer holding a copy of `tensor`'s values.
    mutating func constant(_ name: String, _ tensor: Tensor, shape: [Int]? = nil) -> String {
        constant(name, tensor.array, shape: shape ?? tensor.shape)
    }

    mutating func constant(_ name: String, doubles values: [Double], shape: [Int]) -> String {
        var t = tensor(name, .double, shape)
        t.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
        initializers.append(t)
        return t.name
    }

    mutating func constant(_ name: String, int64s values: [Int], shape: [Int]) -> String {
        var t = tensor(name, .int64, shape)
        t.rawData = values.map(Int64.init).withUnsafeBufferPointer { Data(buffer: $0) }
        initializers.append(t)
        return t.name
    }

    private mutating func tensor(_ name: String, _ type: Onnx_TensorProto.DataType, _ shape: [Int]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = fresh(name)
        t.dataType = Int32(type.rawValue)
        t.dims = shape.map(Int64.init)
        return t
    }

    /// `x` reshaped to `[batch, perRow...]` (the batch dimension inferred, so it stays symbolic).
    mutating func reshape(_ x: String, perRow: [Int], name: String) -> String {
        node("Reshape", [x, constant(name + ".shape", int64s: [-1] + perRow, shape: [perRow.count + 1])], name: name)
    }

    /// ReduceMax / ReduceMean over `axes`: the axes are an attribute up to opset 17 and an input
    /// from opset 18 on.
    mutating func reduce(_ op: String, _ x: String, axes: [Int], keepDims: Bool, name: String) -> String {
        let keep = Self.attribute("keepdims", keepDims ? 1 : 0)
        if opset >= 18 {
            return node(op, [x, constant(name + ".axes", int64s: axes, shape: [axes.count])], name: name, [keep])
        }
        return node(op, [x], name: name, [Self.attribute("axes", ints: axes), keep])
    }

    /// A Cast node to an ONNX tensor type.
    mutating func cast(_ x: String, to type: Onnx_TensorProto.DataType, name: String) -> String {
        node("Cast", [x], name: name, [Self.attribute("to", type.rawValue)])
    }

    static func attribute(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        (a.name, a.type, a.i) = (name, .int, Int64(value))
        return a
    }

    static func attribute(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        (a.name, a.type, a.f) = (name, .float, value)
        return a
    }

    static func attribute(_ name: String, ints values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        (a.name, a.type, a.ints) = (name, .ints, values.map(Int64.init))
        return a
    }

    /// A graph input or output: float32 `[dimension name, perRow...]`, the batch dimension symbolic.
    static func value(_ name: String, batch: String, perRow: [Int], elementType: Onnx_TensorProto.DataType = .float,
                      doc: String) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        var first = Onnx_TensorShapeProto.Dimension()
        first.dimParam = batch
        shape.dim = [first] + perRow.map { n in
            var d = Onnx_TensorShapeProto.Dimension()
            d.dimValue = Int64(n)
            return d
        }
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(elementType.rawValue)
        tensor.shape = shape
        var v = Onnx_ValueInfoProto()
        v.name = name
        v.type.tensorType = tensor
        v.docString = doc
        return v
    }
}
