from .referring_encoder_decoder import ReferringEncoderDecoder

__all__ = ['ReferringEncoderDecoder']
