// Pins the hand-written codec to messaging.proto: every field of the
// messages it encodes and decodes in place must be one it handles, with the
// same number and wire type, and every field it handles must still exist.
// A field added to the .proto fails here, naming the files to change,
// rather than being silently dropped by the encoder and sending every
// message through the decoder's slow path.
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/method_paths.h"
#include "protos/messaging/v1/wire/wire_format.h"

namespace messaging::wire {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

constexpr char kFilesToChange[] =
    "protos/messaging/v1/wire/wire_format.h (kCodecFields and the tag), "
    "mensaje_encoder.cc, mensaje_decoder.cc (DecodeInOrder, DecodeAnyOrder) "
    "and mensaje_view.h (MensajeView, ViewOf)";

uint8_t WireTypeOf(const FieldDescriptor& field) {
  switch (field.type()) {
    case FieldDescriptor::TYPE_STRING:
    case FieldDescriptor::TYPE_BYTES:
    case FieldDescriptor::TYPE_MESSAGE:
      return kLengthDelimited;
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_INT32:
      return kVarint;
    default:
      return 0xff;  // a type the codec has no reader or writer for
  }
}

const CodecField* FindCodecField(const Descriptor& message,
                                 const std::string& name) {
  for (const CodecField& field : kCodecFields) {
    if (message.full_name() == field.message && name == field.name) {
      return &field;
    }
  }
  return nullptr;
}

TEST(SchemaPinTest, EveryFieldOfTheCodecsMessagesIsHandled) {
  for (const Descriptor* message :
       {v1::Mensaje::descriptor(), v1::MensajeBatch::descriptor(),
        google::protobuf::Timestamp::descriptor()}) {
    for (int i = 0; i < message->field_count(); ++i) {
      const FieldDescriptor& field = *message->field(i);
      const CodecField* handled = FindCodecField(*message, field.name());
      ASSERT_NE(handled, nullptr)
          << message->full_name() << "." << field.name() << " (field "
          << field.number() << ") is not handled by the hand-written codec; "
          << "change " << kFilesToChange;
      EXPECT_EQ(handled->tag, Tag(field.number(), WireTypeOf(field)))
          << message->full_name() << "." << field.name()
          << " changed its number or type; change " << kFilesToChange;
      EXPECT_LE(field.number(), 15)
          << message->full_name() << "." << field.name()
          << " needs a two-byte tag, which the in-place decoder never reads";
    }
  }
}

TEST(SchemaPinTest, EveryFieldTheCodecHandlesStillExists) {
  const google::protobuf::DescriptorPool& pool =
      *v1::Mensaje::descriptor()->file()->pool();
  std::set<std::string> seen;
  for (const CodecField& field : kCodecFields) {
    const Descriptor* message = pool.FindMessageTypeByName(field.message);
    ASSERT_NE(message, nullptr) << field.message;
    EXPECT_NE(message->FindFieldByName(field.name), nullptr)
        << field.message << "." << field.name
        << " is gone from the .proto; change " << kFilesToChange;
    EXPECT_TRUE(
        seen.insert(absl::StrCat(field.message, ".", field.name)).second)
        << field.message << "." << field.name << " is listed twice";
  }
}

TEST(MethodPathsTest, NameTheStreamingMethodsOfTheService) {
  EXPECT_EQ(ConsumePath(), "/messaging.v1.ConsumerService/Consume");
  EXPECT_EQ(ConsumeBatchesPath(),
            "/messaging.v1.ConsumerService/ConsumeBatches");
}

}  // namespace
}  // namespace messaging::wire
