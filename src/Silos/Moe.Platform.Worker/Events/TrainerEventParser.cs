using System.Text.Json;
using System.Text.Json.Nodes;

namespace Moe.Platform.Worker.Events;

/// <summary>Turns one stdout line of <c>moe-trainer train --json</c> into a <see cref="TrainerEvent"/>; never throws on bad input.</summary>
public static class TrainerEventParser
{
    public static TrainerEvent Parse(string line, long lineNumber)
    {
        ArgumentNullException.ThrowIfNull(line);
        JsonObject record;
        try
        {
            if (JsonNode.Parse(line) is not JsonObject parsed) return new MalformedLine(lineNumber, line, "not a JSON object");
            record = parsed;
        }
        catch (JsonException e)
        {
            return new MalformedLine(lineNumber, line, $"invalid JSON: {e.Message}");
        }

        try
        {
            var type = Text(record, "type");
            var step = Long(record, "step");
            return type switch
            {
                "start" => new TrainingStarted(step, Text(record, "run"), Text(record, "device"), Text(record, "dtype"),
                    Long(record, "total_steps"), Long(record, "tokens_per_step"), OptionalText(record, "resumed_from"), record),
                "step" => new TrainingStep(step, Long(record, "tokens"), Number(record, "loss"), Number(record, "lm_loss"),
                    Number(record, "aux_loss"), OptionalNumber(record, "mtp_loss"), Number(record, "lr"), Number(record, "grad_norm"),
                    Number(record, "tokens_per_s"), Router(record), record),
                "eval" => new EvalCompleted(step, Number(record, "val_loss"), Number(record, "val_ppl"), record),
                "checkpoint" => new CheckpointWritten(step, Text(record, "path"), Number(record, "val_loss"),
                    OptionalLong(record, "best_step"), Longs(record, "deleted_steps"), record),
                "end" => new TrainingEnded(step, Text(record, "reason"), OptionalNumber(record, "best_val_loss"),
                    OptionalLong(record, "best_step"), record),
                _ => new MalformedLine(lineNumber, line, $"unknown record type '{type}'"),
            };
        }
        catch (FormatException e)
        {
            return new MalformedLine(lineNumber, line, e.Message);
        }
    }

    private static IReadOnlyList<RouterLayerStats> Router(JsonObject record)
    {
        if (record["router"] is not JsonArray layers) return [];
        var result = new List<RouterLayerStats>(layers.Count);
        foreach (var node in layers)
        {
            if (node is not JsonObject layer) throw new FormatException("field 'router' must hold objects");
            var load = layer["load"] is JsonArray shares ? shares.Select(s => ToDouble(s, "router[].load")).ToList() : [];
            var bias = layer["bias"] is JsonArray biases ? biases.Select(b => ToDouble(b, "router[].bias")).ToList() : null;
            result.Add(new RouterLayerStats((int)Long(layer, "layer"), load, Number(layer, "max_over_mean"),
                Number(layer, "drop_fraction"), Number(layer, "entropy"), bias));
        }
        return result;
    }

    private static string Text(JsonObject o, string name) =>
        OptionalText(o, name) ?? throw new FormatException($"field '{name}' is missing");

    private static string? OptionalText(JsonObject o, string name) => o[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw new FormatException($"field '{name}' must be a string"),
    };

    private static long Long(JsonObject o, string name) =>
        OptionalLong(o, name) ?? throw new FormatException($"field '{name}' is missing");

    private static long? OptionalLong(JsonObject o, string name) => o[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<long>(out var l) => l,
        JsonValue v when v.TryGetValue<double>(out var d) && d == Math.Floor(d) && Math.Abs(d) < 9e15 => (long)d,
        _ => throw new FormatException($"field '{name}' must be an integer"),
    };

    private static IReadOnlyList<long> Longs(JsonObject o, string name) => o[name] switch
    {
        null => [],
        JsonArray a => a.Select(n => n is JsonValue v && v.TryGetValue<long>(out var l) ? l
            : throw new FormatException($"field '{name}' must hold integers")).ToList(),
        _ => throw new FormatException($"field '{name}' must be an array"),
    };

    /// <summary>A metric value: null (the trainer's non-finite value) or a missing field reads as NaN.</summary>
    private static double Number(JsonObject o, string name) => OptionalNumber(o, name) ?? double.NaN;

    private static double? OptionalNumber(JsonObject o, string name) => o[name] is { } n ? ToDouble(n, name) : null;

    private static double ToDouble(JsonNode? node, string name) => node switch
    {
        null => double.NaN,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        _ => throw new FormatException($"field '{name}' must be a number"),
    };
}
