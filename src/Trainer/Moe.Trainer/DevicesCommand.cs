using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Moe.Model.Backend;
using TorchSharp;

namespace Moe.Trainer;

/// <summary>
/// What this machine offers to training, as TorchSharp sees it: the CUDA devices it can use (names and memory from
/// nvidia-smi when present, since TorchSharp does not expose them) and the CPU cores. Workers run it to advertise
/// their capacity without loading libtorch into the silo process.
/// </summary>
public static class DevicesCommand
{
    public static int Run(CommandArgs args)
    {
        var json = args.Flag("json");
        var libtorch = args.Get("libtorch");
        args.RejectUnknown();

        int cudaDevices = 0;
        string? cudaProblem = null;
        try
        {
            TorchBackend.Initialize("cuda", libtorch);
            cudaDevices = torch.cuda.device_count();
        }
        catch (TorchBackendException e)
        {
            cudaProblem = e.Message;
            TorchBackend.Initialize("cpu", libtorch);
        }
        var details = cudaDevices > 0 ? NvidiaSmi() : [];
        var gpus = new JsonArray();
        for (int i = 0; i < cudaDevices; i++)
        {
            var d = details.FirstOrDefault(g => g.Index == i);
            gpus.Add(new JsonObject
            {
                ["index"] = i, ["name"] = d.Name ?? "CUDA device",
                ["total_memory_bytes"] = d.TotalBytes, ["free_memory_bytes"] = d.FreeBytes,
            });
        }
        var report = new JsonObject
        {
            ["cuda_devices"] = cudaDevices, ["gpus"] = gpus, ["cpu_cores"] = Environment.ProcessorCount,
            ["torch_threads"] = torch.get_num_threads(), ["cuda_problem"] = cudaProblem,
        };
        if (json)
        {
            Console.WriteLine(report.ToJsonString());
        }
        else
        {
            Console.WriteLine($"cpu   {Environment.ProcessorCount} cores, {torch.get_num_threads()} torch threads");
            Console.WriteLine(cudaDevices == 0 ? $"cuda  none ({cudaProblem ?? "no device"})" : $"cuda  {cudaDevices} device(s)");
            foreach (var g in gpus)
                Console.WriteLine($"  [{g!["index"]}] {g["name"]}  {(long)g["total_memory_bytes"]! / (1L << 20)} MiB total, {(long)g["free_memory_bytes"]! / (1L << 20)} MiB free");
        }
        return 0;
    }

    private readonly record struct GpuDetail(int Index, string? Name, long TotalBytes, long FreeBytes);

    /// <summary>Per-GPU name and memory from nvidia-smi; empty when it is missing or fails (memory then reads 0).</summary>
    private static List<GpuDetail> NvidiaSmi()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("nvidia-smi",
                ["--query-gpu=index,name,memory.total,memory.free", "--format=csv,noheader,nounits"])
            { RedirectStandardOutput = true, RedirectStandardError = true });
            if (process is null) return [];
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit(10_000);
            return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(',', StringSplitOptions.TrimEntries))
                .Where(f => f.Length == 4)
                .Select(f => new GpuDetail(int.Parse(f[0], CultureInfo.InvariantCulture), f[1],
                    long.Parse(f[2], CultureInfo.InvariantCulture) << 20, long.Parse(f[3], CultureInfo.InvariantCulture) << 20))];
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or FormatException or InvalidOperationException)
        {
            return [];
        }
    }
}
