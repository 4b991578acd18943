using Confluent.Kafka;
using Ecommerce.Consumer.Ingestion;

namespace Ecommerce.Tests.Ingestion;

[Trait("Category", "Fast")]
public sealed class GroupMembershipTests
{
    [Fact]
    public void By_default_consumers_join_with_the_consumer_group_protocol_and_leave_the_session_to_the_broker()
    {
        var config = new ConsumerConfig();
        GroupMembership.Apply(config, new IngestionOptions(), consumer: 1);

        Assert.Equal(GroupProtocol.Consumer, config.GroupProtocol);
        Assert.Null(config.SessionTimeoutMs); // librdkafka refuses a consumer protocol member that sets it.
        Assert.Null(config.PartitionAssignmentStrategy);
        Assert.Null(config.GroupInstanceId);
        Assert.Equal("ecommerce-ingestion", config.GroupId);
    }

    [Fact]
    public void With_the_classic_protocol_a_crashed_member_is_given_up_after_6_s_and_survivors_keep_their_partitions()
    {
        var config = new ConsumerConfig { GroupProtocol = GroupProtocol.Classic };
        GroupMembership.Apply(config, new IngestionOptions(), consumer: 1);

        Assert.Equal(6_000, config.SessionTimeoutMs);
        Assert.Equal(PartitionAssignmentStrategy.CooperativeSticky, config.PartitionAssignmentStrategy);
    }

    [Fact]
    public void Each_consumer_of_a_process_gets_a_static_id_of_its_own()
    {
        var options = new IngestionOptions { InstanceId = "host-a" };
        var ids = Enumerable.Range(1, 3).Select(n =>
        {
            var config = new ConsumerConfig();
            GroupMembership.Apply(config, options, n);
            return config.GroupInstanceId;
        });

        Assert.Equal(["host-a-1", "host-a-2", "host-a-3"], ids);
    }
}
