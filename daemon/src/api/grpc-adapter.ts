// Bridges protobuf-es (typed messages, generated from proto/) and @grpc/grpc-js (transport): a
// grpc-js service definition whose (de)serializers are protobuf-es's binary codec. Used by the
// server and by vrouterctl's client alike.
import type { ServiceDefinition } from '@grpc/grpc-js';
import { type DescService, fromBinary, toBinary } from '@bufbuild/protobuf';

export function grpcDefinition(service: DescService): ServiceDefinition {
  const entries = service.methods.map((method) => [
    method.localName,
    {
      path: `/${service.typeName}/${method.name}`,
      originalName: method.name,
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: (message: Parameters<typeof toBinary>[1]) =>
        Buffer.from(toBinary(method.input, message)),
      requestDeserialize: (bytes: Buffer) => fromBinary(method.input, bytes),
      responseSerialize: (message: Parameters<typeof toBinary>[1]) =>
        Buffer.from(toBinary(method.output, message)),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
    },
  ]);
  return Object.fromEntries(entries) as ServiceDefinition;
}
