using Moe.Platform.Grains.Workers;

namespace Moe.Platform.Tests.Workers;

/// <summary>Reading <c>moe-trainer devices --json</c> into the capacity a worker advertises.</summary>
public sealed class DeviceProbeTests
{
    [Fact]
    public void Gpus_are_read_with_their_names_and_memory_and_stray_lines_are_skipped()
    {
        const string output = """
            some native library banner
            {"cuda_devices":2,"gpus":[{"index":0,"name":"NVIDIA H100 80GB HBM3","total_memory_bytes":85520809984,"free_memory_bytes":84500000000},{"index":1,"name":"NVIDIA H100 80GB HBM3","total_memory_bytes":85520809984,"free_memory_bytes":1000}],"cpu_cores":16}
            """;
        var gpus = DeviceProbe.Parse(output);
        Assert.Equal(2, gpus.Length);
        Assert.Equal((0, "NVIDIA H100 80GB HBM3", 85520809984L, 84500000000L), (gpus[0].Index, gpus[0].Name, gpus[0].TotalMemoryBytes, gpus[0].FreeMemoryBytes));
        Assert.Equal(1000, gpus[1].FreeMemoryBytes);
    }

    [Fact]
    public void A_cpu_only_machine_has_no_gpus_and_output_without_json_is_an_error()
    {
        Assert.Empty(DeviceProbe.Parse("""{"cuda_devices":0,"gpus":[],"cpu_cores":2,"cuda_problem":"no CUDA libtorch found"}"""));
        Assert.Throws<FormatException>(() => DeviceProbe.Parse("error: something"));
    }
}
