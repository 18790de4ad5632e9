"""persons"""
